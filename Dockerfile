# folio in a container (README.md, "Container"):
#
#   docker build -t folio .
#   docker run -p 8080:8080 -v folio-data:/data folio          # the demo, built on first run
#   docker run -p 8080:8080 -v "$PWD":/data -e FOLIO_DB=/data/their.sqlite -e FOLIO_SECRET=… folio
#
# cmd/folio's TestDockerfile builds folio with this file's go build command
# and runs it with its ENV, ENTRYPOINT and CMD, so keep each on one line.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# cgo: the SQLite driver and FTS5 are C, linked against the glibc of the
# runtime image below (both Debian bookworm).
RUN CGO_ENABLED=1 go build -ldflags="-s -w" -o /out/folio ./cmd/folio

FROM debian:bookworm-slim
# ca-certificates: folio harvest over HTTPS. A user without a login owns
# the volume; nothing in the image runs as root.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin folio \
    && mkdir -p /data \
    && chown folio:folio /data
COPY --from=build /out/folio /usr/local/bin/folio
USER folio:folio
# The demo database (and its signing key) go to $XDG_DATA_HOME/folio.
ENV XDG_DATA_HOME=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/folio"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
