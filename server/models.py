"""What the server stores: public keys, signed descriptors, ciphertexts, hashes. Never a plaintext.

Tables holding anything about a student use random text keys and no autoincrement; the pledge
table is WITHOUT ROWID on SQLite so storage order does not reveal arrival order.
"""

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from server.db import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Coalition(BaseModel):
    id = CharField(primary_key=True, max_length=64)
    name = TextField()
    signing_key = BlobField()
    created_day = DateField()


class Organizer(BaseModel):
    id = CharField(primary_key=True, max_length=64)
    coalition = ForeignKeyField(Coalition, on_delete="CASCADE", backref="organizers")
    fingerprint = CharField(max_length=40)
    sign_public = BlobField()
    box_public = BlobField()
    role = CharField(max_length=8)  # admin | member
    status = CharField(max_length=8)  # pending | active | removed
    # The coalition signing key's signature binding both keys and the role (set on approval).
    approval_signature = BlobField(null=True)
    # Which invite they joined with (its token's hash) and the newcomer's MAC over their keys under
    # a key only the token's holders know: the inviting admin's tool checks both before approving.
    invite_hash = BlobField(null=True)
    invite_binding = BlobField(null=True)

    class Meta:
        indexes = ((("coalition", "fingerprint"), True),)


class EncryptionKey(BaseModel):
    coalition = ForeignKeyField(Coalition, on_delete="CASCADE", backref="encryption_keys")
    version = IntegerField()
    public_key = BlobField()
    not_after = CharField(max_length=10)
    signature = BlobField()

    class Meta:
        primary_key = CompositeKey("coalition", "version")


class WrappedSecret(BaseModel):
    organizer = ForeignKeyField(Organizer, on_delete="CASCADE", backref="wrapped_secrets")
    kind = CharField(max_length=12)  # signing | encryption
    version = IntegerField()
    ciphertext = BlobField()

    class Meta:
        primary_key = CompositeKey("organizer", "kind", "version")


class Campaign(BaseModel):
    id = CharField(primary_key=True, max_length=64)
    coalition = ForeignKeyField(Coalition, on_delete="CASCADE", backref="campaigns")
    descriptor = BlobField()
    descriptor_signature = BlobField()
    closes_at = DateField()
    delete_after = DateField(index=True)
    # Protocol 1.1: the dates above are read in this zone. open_until / live_until are the
    # instants (epoch seconds) their next day begins there, from the signed descriptor alone
    # (server/zones.py); every read compares them with the clock. 0 = not live: fail closed.
    time_zone = CharField(max_length=64, constraints=[SQL("DEFAULT 'UTC'")])
    open_until = BigIntegerField(constraints=[SQL("DEFAULT 0")])
    live_until = BigIntegerField(index=True, constraints=[SQL("DEFAULT 0")])
    # Whether every pledge id of this campaign carries its tag (crypto/pledge_ids.py): true for
    # campaigns made since migration 0008; a withdrawal reads an untagged campaign's pledges
    # whatever the id. The column's default is false, so a row written by other means is read.
    tagged_ids = BooleanField(default=True, constraints=[SQL("DEFAULT FALSE")])


class Pledge(BaseModel):
    id = CharField(primary_key=True, max_length=64)
    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", backref="pledges")
    key_version = IntegerField()
    ciphertext = BlobField()
    withdraw_token_hash = BlobField()
    received_day = DateField()

    class Meta:
        without_rowid = True


class Announcement(BaseModel):
    id = CharField(primary_key=True, max_length=64)
    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", backref="announcements")
    body = BlobField()
    signature = BlobField()
    # The instant the day after the body's "until" begins in the campaign's zone (null: none).
    gone_at = BigIntegerField(null=True, index=True)

    class Meta:
        without_rowid = True


class Tally(BaseModel):
    """The latest tally an admin published for a campaign (protocol 1.1), bytes as signed."""

    campaign = ForeignKeyField(Campaign, primary_key=True, on_delete="CASCADE")
    day = DateField()
    body = BlobField()
    signature = BlobField()


class DirectoryEntry(BaseModel):
    organizer = ForeignKeyField(Organizer, primary_key=True, on_delete="CASCADE")
    key_version = IntegerField()
    ciphertext = BlobField()


class SetupCode(BaseModel):
    code_hash = BlobField(primary_key=True)
    expires_at = IntegerField()


class Invite(BaseModel):
    token_hash = BlobField(primary_key=True)
    coalition = ForeignKeyField(Coalition, on_delete="CASCADE")
    role = CharField(max_length=8)
    expires_at = IntegerField()


class RequestNonce(BaseModel):
    """Seen (keyid, nonce) pairs of organizers' requests, kept only for the replay window.

    No rowid (it would count requests in arrival order) and an expiry rounded up to NONCE_BUCKET
    seconds (server/api/auth.py), so the rows tell when organizers were active only roughly."""

    nonce_hash = BlobField(primary_key=True)
    expires_at = IntegerField(index=True)

    class Meta:
        without_rowid = True  # SQLite (migration 0005); PostgreSQL tables have no rowid


class ServerState(BaseModel):
    """Small named values: the latest day seen (so time never runs backwards), the purge lease."""

    name = CharField(primary_key=True, max_length=32)
    value = TextField()
    lease_until = IntegerField(default=0)


ALL_MODELS = [
    Coalition, Organizer, EncryptionKey, WrappedSecret, Campaign, Pledge, Announcement, Tally,
    DirectoryEntry, SetupCode, Invite, RequestNonce, ServerState,
]
