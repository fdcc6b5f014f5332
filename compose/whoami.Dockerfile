# A tiny test backend (tools/whoami) that answers with its hostname and the request.
FROM scratch
COPY build/whoami /whoami
EXPOSE 80
ENTRYPOINT ["/whoami"]
