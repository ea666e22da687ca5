"""Subcommands of the `harness` CLI, one module each (see `harness.cli`).

A module here exposes `register(subparsers)`; it parses flags into a config
object and calls one library function. No business logic lives here.
"""
