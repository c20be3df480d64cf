//! What is running: the release version and the source commit it was built from (put in by
//! `build.rs`). `elbow --version`, the metrics' `build_info` and the image labels say the same.

/// The release version, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (12 hex digits), or `unknown` when built outside git
/// without `ELBOW_COMMIT` set.
pub const COMMIT: &str = env!("ELBOW_COMMIT");

/// `elbow --version`'s text after the program name, e.g. `0.1.0 (commit 8acfb95a1b2c)`.
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ELBOW_COMMIT"), ")");
