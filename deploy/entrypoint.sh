#!/bin/sh
# The image's entry point: `<gateway|registry|training|credit|rating|matching> <command> [args]`.
#   gateway serve | registry serve | credit migrate | registry rotate-keys ...
# Runs `python -m gateway` or `python -m services.<name>` as PID 1 (exec), so SIGTERM from the
# orchestrator reaches uvicorn directly and the process drains before it exits.
set -eu

usage() {
    echo "usage: entrypoint.sh <gateway|registry|training|credit|rating|matching> <command> [args...]" >&2
    exit 64
}

[ "$#" -ge 1 ] || usage
name=$1
shift
case "$name" in
    gateway) module=gateway ;;
    registry | training | credit | rating | matching) module="services.$name" ;;
    -h | --help) usage ;;
    *)
        echo "entrypoint.sh: unknown process '$name'" >&2
        usage
        ;;
esac
exec "${JIASAO_PYTHON:-python}" -m "$module" "$@"
