//! Label selectors as the API server evaluates them; the matcher lives with the builders, which
//! select nodes by it too.

pub use elbow_builder::label_selector::matches;
