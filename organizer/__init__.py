"""The organizer's tool: runs on an organizer's own laptop, holds the coalition's secrets."""
