# Built by compose/build.sh from a static binary: no base image, nothing to pull.
FROM scratch
COPY build/portier /portier
COPY traefik.toml /etc/portier/traefik.toml
EXPOSE 80 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=2s CMD ["/portier", "healthcheck", "-c", "/etc/portier/traefik.toml"]
ENTRYPOINT ["/portier"]
CMD ["-c", "/etc/portier/traefik.toml"]
