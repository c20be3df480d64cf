# Elbow's image for those who build with a container engine. It is the image `scripts/image`
# writes without one: the build stage compiles the release binary and runs `scripts/image --rootfs`,
# which lays out the same files (the binary, the libraries it loads, the CA bundle, /etc/passwd
# with user 65532); the final stage is those files on an empty base with the same user,
# entrypoint, environment and labels. operator/tests/image.rs keeps the two in step.
#
#   docker build --build-arg ELBOW_COMMIT=$(git rev-parse --short=12 HEAD) -t elbow:0.1.0 .
#
# The build stage's Debian release decides the glibc inside the image, as the build machine's
# does for scripts/image.
FROM rust:1-bookworm AS build
# .dockerignore leaves .git out of the context, so the commit comes in as an argument.
ARG ELBOW_COMMIT=unknown
WORKDIR /src
COPY . .
RUN ELBOW_COMMIT="${ELBOW_COMMIT}" cargo build --release --locked -p elbow \
    && scripts/image --binary target/release/elbow --rootfs /rootfs

FROM scratch
ARG VERSION=0.1.0
ARG ELBOW_COMMIT=unknown
COPY --from=build /rootfs/ /
USER 65532:65532
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /
ENTRYPOINT ["/usr/local/bin/elbow"]
CMD ["--help"]
LABEL org.opencontainers.image.title="elbow" \
      org.opencontainers.image.description="Elbow gives Kubernetes Services and Ingresses AWS load balancers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${ELBOW_COMMIT}" \
      org.opencontainers.image.licenses="Apache-2.0"
