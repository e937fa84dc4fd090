"""Code that composes the server's zone and the organizer's zone in one process.

server/ holds no organizer code and organizer/ never imports server/; the demo and the in-process
transport need both, so they live here, and nothing in server/ or organizer/ imports this package
(server.cli imports the demo lazily, only for `run --demo`).
"""
