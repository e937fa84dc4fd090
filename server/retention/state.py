"""Small named values in `server_state` that the deletion machinery shares across processes."""

from server.models import ServerState


def set_state(name: str, value: str) -> None:
    ServerState.insert(name=name, value=value, lease_until=0).on_conflict(
        conflict_target=[ServerState.name], update={ServerState.value: value}).execute()


def get_state(name: str) -> str | None:
    row = ServerState.get_or_none(ServerState.name == name)
    return None if row is None else str(row.value)
