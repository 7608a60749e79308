"""Serve a GGUF generator over the OpenAI API on loopback (llama.cpp via ``xllamacpp``).

    python -m tripletforge.generate.serve --model smollm2-135m --port 8080

prints ``listening on http://127.0.0.1:PORT`` once ready (``--port 0`` picks a free port) and
serves ``/v1/completions`` and ``/v1/chat/completions`` until interrupted; point the
``openai`` backend at ``http://127.0.0.1:PORT/v1``.
"""

from __future__ import annotations

import argparse
import signal
import threading

from tripletforge.generate.backends.llamacpp import default_threads, start_server
from tripletforge.generate.generators import resolve_gguf


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a GGUF model over the OpenAI API.")
    parser.add_argument("--model", default="smollm2-135m", help="built-in name or GGUF path")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--ctx-per-slot", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    server = start_server(
        resolve_gguf(args.model),
        parallel=args.parallel,
        ctx_per_slot=args.ctx_per_slot,
        threads=args.threads or default_threads(),
        gpu_layers=0,
        port=args.port,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"listening on {server.listening_address}", flush=True)
    stop.wait()
    del server


if __name__ == "__main__":
    main()
