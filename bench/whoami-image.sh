# Sourced by the Docker benchmarks: builds the static tools/whoami into the image $IMAGE
# (`FROM scratch`, nothing pulled) in the scratch directory $ctx, which it creates.
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet -p whoami \
  --target x86_64-unknown-linux-gnu --target-dir target/test-images
ctx=$(mktemp -d)
cp target/test-images/x86_64-unknown-linux-gnu/release/whoami "$ctx/"
printf 'FROM scratch\nCOPY whoami /whoami\nEXPOSE 80\nENTRYPOINT ["/whoami"]\n' > "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" >/dev/null
