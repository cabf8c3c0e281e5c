namespace AgentHub.Storage;

internal sealed record Migration(int Version, string Name, string Sqlite, string Postgres)
{
    public string SqlFor(DatabaseProvider provider) => provider == DatabaseProvider.Sqlite ? Sqlite : Postgres;
}

/// <summary>
/// The schema, in order. A migration is never edited once released: a change is a new entry.
/// Times are Unix milliseconds (BIGINT) on both engines, so the stores share their SQL.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "identity and signing keys",
            Sqlite: """
                CREATE TABLE hub_settings (
                    name TEXT PRIMARY KEY,
                    value BLOB NOT NULL,
                    updated_at BIGINT NOT NULL
                );
                CREATE TABLE principals (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NULL
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    principal_id TEXT NOT NULL REFERENCES principals(id),
                    role TEXT NOT NULL,
                    name TEXT NULL,
                    secret_hash BLOB NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    expires_at BIGINT NULL,
                    revoked_at BIGINT NULL,
                    revoked_by TEXT NULL,
                    last_used_at BIGINT NULL
                );
                CREATE INDEX ix_api_keys_principal ON api_keys(principal_id);
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    algorithm TEXT NOT NULL,
                    public_jwk TEXT NOT NULL,
                    private_key BLOB NOT NULL,
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT NULL
                );
                """,
            Postgres: """
                CREATE TABLE hub_settings (
                    name TEXT PRIMARY KEY,
                    value BYTEA NOT NULL,
                    updated_at BIGINT NOT NULL
                );
                CREATE TABLE principals (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NULL
                );
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    principal_id TEXT NOT NULL REFERENCES principals(id),
                    role TEXT NOT NULL,
                    name TEXT NULL,
                    secret_hash BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    expires_at BIGINT NULL,
                    revoked_at BIGINT NULL,
                    revoked_by TEXT NULL,
                    last_used_at BIGINT NULL
                );
                CREATE INDEX ix_api_keys_principal ON api_keys(principal_id);
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    algorithm TEXT NOT NULL,
                    public_jwk TEXT NOT NULL,
                    private_key BYTEA NOT NULL,
                    created_at BIGINT NOT NULL,
                    retired_at BIGINT NULL
                );
                """),
        new(2, "audit log",
            Sqlite: """
                CREATE TABLE audit_records (
                    seq BIGINT PRIMARY KEY,
                    time BIGINT NOT NULL,
                    type TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    target TEXT NULL,
                    outcome TEXT NOT NULL,
                    record TEXT NOT NULL,
                    leaf_hash BLOB NOT NULL,
                    chain_hash BLOB NOT NULL
                );
                CREATE INDEX ix_audit_type ON audit_records(type, seq);
                CREATE INDEX ix_audit_actor ON audit_records(actor, seq);
                CREATE INDEX ix_audit_target ON audit_records(target, seq);
                CREATE INDEX ix_audit_time ON audit_records(time);
                CREATE TABLE audit_checkpoints (
                    size BIGINT PRIMARY KEY,
                    root BLOB NOT NULL,
                    time BIGINT NOT NULL,
                    kid TEXT NOT NULL,
                    jws TEXT NOT NULL,
                    frontier BLOB NOT NULL
                );
                """,
            Postgres: """
                CREATE TABLE audit_records (
                    seq BIGINT PRIMARY KEY,
                    time BIGINT NOT NULL,
                    type TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    target TEXT NULL,
                    outcome TEXT NOT NULL,
                    record TEXT NOT NULL,
                    leaf_hash BYTEA NOT NULL,
                    chain_hash BYTEA NOT NULL
                );
                CREATE INDEX ix_audit_type ON audit_records(type, seq);
                CREATE INDEX ix_audit_actor ON audit_records(actor, seq);
                CREATE INDEX ix_audit_target ON audit_records(target, seq);
                CREATE INDEX ix_audit_time ON audit_records(time);
                CREATE TABLE audit_checkpoints (
                    size BIGINT PRIMARY KEY,
                    root BYTEA NOT NULL,
                    time BIGINT NOT NULL,
                    kid TEXT NOT NULL,
                    jws TEXT NOT NULL,
                    frontier BYTEA NOT NULL
                );
                """),
        new(3, "agent registry",
            Sqlite: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY,
                    version BIGINT NOT NULL,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    card_version TEXT NOT NULL,
                    skills TEXT NOT NULL,
                    search_text TEXT NOT NULL,
                    card_url TEXT NULL,
                    upstream_url TEXT NOT NULL,
                    health TEXT NOT NULL,
                    last_checked_at BIGINT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    updated_by TEXT NOT NULL
                );
                CREATE TABLE agent_versions (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    version BIGINT NOT NULL,
                    card BLOB NOT NULL,
                    card_sha256 BLOB NOT NULL,
                    card_version TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    PRIMARY KEY (agent_id, version)
                );
                CREATE TABLE agent_skills (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    skill_id TEXT NOT NULL,
                    PRIMARY KEY (agent_id, skill_id)
                );
                CREATE INDEX ix_agent_skills_skill ON agent_skills(skill_id);
                CREATE TABLE agent_tags (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    tag TEXT NOT NULL,
                    PRIMARY KEY (agent_id, tag)
                );
                CREATE INDEX ix_agent_tags_tag ON agent_tags(tag);
                """,
            Postgres: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY,
                    version BIGINT NOT NULL,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL,
                    card_version TEXT NOT NULL,
                    skills TEXT NOT NULL,
                    search_text TEXT NOT NULL,
                    card_url TEXT NULL,
                    upstream_url TEXT NOT NULL,
                    health TEXT NOT NULL,
                    last_checked_at BIGINT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    updated_by TEXT NOT NULL
                );
                CREATE TABLE agent_versions (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    version BIGINT NOT NULL,
                    card BYTEA NOT NULL,
                    card_sha256 BYTEA NOT NULL,
                    card_version TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    PRIMARY KEY (agent_id, version)
                );
                CREATE TABLE agent_skills (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    skill_id TEXT NOT NULL,
                    PRIMARY KEY (agent_id, skill_id)
                );
                CREATE INDEX ix_agent_skills_skill ON agent_skills(skill_id);
                CREATE TABLE agent_tags (
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    tag TEXT NOT NULL,
                    PRIMARY KEY (agent_id, tag)
                );
                CREATE INDEX ix_agent_tags_tag ON agent_tags(tag);
                """),
        new(4, "policy rules",
            Sqlite: """
                CREATE TABLE policy_rules (
                    id TEXT PRIMARY KEY,
                    caller TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    methods TEXT NOT NULL,
                    effect TEXT NOT NULL,
                    description TEXT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE INDEX ix_policy_rules_caller ON policy_rules(caller, id);
                CREATE INDEX ix_policy_rules_agent ON policy_rules(agent, id);
                CREATE TABLE policy_version (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version BIGINT NOT NULL
                );
                INSERT INTO policy_version (id, version) VALUES (1, 0);
                """,
            Postgres: """
                CREATE TABLE policy_rules (
                    id TEXT PRIMARY KEY,
                    caller TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    methods TEXT NOT NULL,
                    effect TEXT NOT NULL,
                    description TEXT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE INDEX ix_policy_rules_caller ON policy_rules(caller, id);
                CREATE INDEX ix_policy_rules_agent ON policy_rules(agent, id);
                CREATE TABLE policy_version (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version BIGINT NOT NULL
                );
                INSERT INTO policy_version (id, version) VALUES (1, 0);
                """),
        new(5, "relay task ownership",
            Sqlite: """
                CREATE TABLE task_owners (
                    agent_id TEXT NOT NULL,
                    task_id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (agent_id, task_id)
                );
                CREATE INDEX ix_task_owners_owner ON task_owners(agent_id, owner);
                """,
            Postgres: """
                CREATE TABLE task_owners (
                    agent_id TEXT NOT NULL,
                    task_id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (agent_id, task_id)
                );
                CREATE INDEX ix_task_owners_owner ON task_owners(agent_id, owner);
                """),
        new(6, "signatures: agent keys, replay cache, card signature results",
            Sqlite: """
                CREATE TABLE agent_keys (
                    kid TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    algorithm TEXT NOT NULL,
                    public_jwk TEXT NULL,
                    secret BLOB NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE INDEX ix_agent_keys_agent ON agent_keys(agent_id);
                CREATE TABLE signature_nonces (
                    key_id TEXT NOT NULL,
                    nonce TEXT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    PRIMARY KEY (key_id, nonce)
                );
                CREATE INDEX ix_signature_nonces_expires ON signature_nonces(expires_at);
                ALTER TABLE agents ADD COLUMN require_signature INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE agent_versions ADD COLUMN card_signature TEXT NOT NULL DEFAULT 'unsigned';
                ALTER TABLE agent_versions ADD COLUMN card_signature_detail TEXT NULL;
                ALTER TABLE agent_versions ADD COLUMN card_keys TEXT NULL;
                """,
            Postgres: """
                CREATE TABLE agent_keys (
                    kid TEXT PRIMARY KEY,
                    agent_id TEXT NOT NULL REFERENCES agents(id),
                    algorithm TEXT NOT NULL,
                    public_jwk TEXT NULL,
                    secret BYTEA NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE INDEX ix_agent_keys_agent ON agent_keys(agent_id);
                CREATE TABLE signature_nonces (
                    key_id TEXT NOT NULL,
                    nonce TEXT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    PRIMARY KEY (key_id, nonce)
                );
                CREATE INDEX ix_signature_nonces_expires ON signature_nonces(expires_at);
                ALTER TABLE agents ADD COLUMN require_signature INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE agent_versions ADD COLUMN card_signature TEXT NOT NULL DEFAULT 'unsigned';
                ALTER TABLE agent_versions ADD COLUMN card_signature_detail TEXT NULL;
                ALTER TABLE agent_versions ADD COLUMN card_keys TEXT NULL;
                """),
    ];

    public static int Latest => All[^1].Version;
}
