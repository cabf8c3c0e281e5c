namespace AgentHub.Storage;

/// <summary>The two database engines the hub runs on; SQL differences are kept behind this value.</summary>
public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}
