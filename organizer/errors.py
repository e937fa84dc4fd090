"""What can go wrong for an organizer; each class's docstring is the sentence they read."""


class UserError(Exception):
    """Something went wrong."""

    def __str__(self) -> str:
        return super().__str__() or " ".join((self.__doc__ or "").split())  # one line, however wrapped


class NoKeystore(UserError):
    """No keystore here yet: run `pledgebox init` first (or pass --keystore PATH)."""


class NotInCoalition(UserError):
    """This keystore is not part of a coalition yet: run `pledgebox coalition create` or `pledgebox join`."""


class ServerUnreachable(UserError):
    """Could not reach the Pledgebox server; check the address and your connection, then try again."""

    def __init__(self, message: str = "", address: str | None = None) -> None:
        super().__init__(message)
        self.address = address

    def __str__(self) -> str:
        if self.address and not self.args[0]:
            return (f"Could not reach the Pledgebox server at {self.address}; check the address "
                    "and your connection, then try again (`pledgebox server set URL` changes it).")
        return super().__str__()


class ServerRefused(UserError):
    """The server refused the request."""


class RemovedFromCoalition(ServerRefused):
    """An admin removed this organizer from the coalition: this laptop's keys no longer open new
    pledges, and the server no longer answers them. Ask an admin for a new invite to join again."""


class DamagedPage(UserError):
    """The server sent a damaged page of pledges; try again, or tell your server's operator."""


class PagesOutOfOrder(DamagedPage):
    """The server sent the roster's pages out of order (an id repeated or going backwards), so the
    tool stopped rather than loop or count a pledge twice: tell your server's operator."""


class KeyMismatch(UserError):
    """The server's coalition key differs from your keystore's: do not trust it; tell your coalition."""


class KeyRolledBack(UserError):
    """The server served an older encryption key than your coalition already uses (the key was
    rolled back, perhaps so a removed organizer can read new pledges): nothing was signed or sent; tell
    your coalition's admins and the server's operator, and share no link until it is fixed."""

    def __init__(self, served: int = 0, seen: int = 0) -> None:
        super().__init__()
        self.served, self.seen = served, seen

    def __str__(self) -> str:
        if not self.seen:
            return super().__str__()
        return (f"The server served encryption key version {self.served}, older than version "
                f"{self.seen} that your coalition already uses (the key was rolled back, perhaps "
                "so a removed organizer can read new pledges): nothing was signed or sent; tell "
                "your coalition's admins and the server's operator, and share no link until it "
                "is fixed.")


class NoSecretForVersion(UserError):
    """You do not hold the key needed for this; ask an admin to approve you or re-share the keys."""


class NeedsAdmin(UserError):
    """Only admins can do this; ask one of your coalition's admins."""


class BadInput(UserError):
    """That input is not valid."""


class TooFewToPublish(UserError):
    """Not published: there are 1 to 4 pledges so far, and a number that small could point at the
    students who pledged. Counts are published from 5 pledges."""


class WeakPassphrase(BadInput):
    """That passphrase is too easy to guess: use at least four random words (12 characters or more)."""

    def __init__(self, suggestion: str = "") -> None:
        super().__init__()
        self.suggestion = suggestion

    def __str__(self) -> str:
        sentence = " ".join((self.__doc__ or "").split())
        return f"{sentence} For example: {self.suggestion}" if self.suggestion else sentence


class ServerRedirected(UserError):
    """The server tried to send this request to another address, and Pledgebox never follows such
    a redirect: check the server's address with your coalition, or tell your server's operator."""


class AppLocked(UserError):
    """The app locked while this was running, so it stopped part-way: unlock it and start again
    (what was already done is kept)."""
