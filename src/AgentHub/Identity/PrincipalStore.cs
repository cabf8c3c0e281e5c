using AgentHub.Storage;
using Dapper;

namespace AgentHub.Identity;

internal sealed record PrincipalRecord(string Id, string Kind, DateTimeOffset CreatedAt, string? CreatedBy, int ActiveKeys);

internal interface IPrincipalStore
{
    Task<PrincipalRecord?> GetAsync(string id, DateTimeOffset now, CancellationToken ct);

    Task<Page<PrincipalRecord>> ListAsync(string? after, int limit, DateTimeOffset now, CancellationToken ct);
}

internal sealed class PrincipalStore(HubDatabase database) : IPrincipalStore
{
    private const string Select = """
        SELECT p.id, p.kind, p.created_at, p.created_by,
               (SELECT COUNT(*) FROM api_keys k
                WHERE k.principal_id = p.id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > @now)) AS active_keys
        FROM principals p
        """;

    public async Task<PrincipalRecord?> GetAsync(string id, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"{Select} WHERE p.id = @id", new { id, now = UnixTime.Ms(now) }, cancellationToken: ct));
        return row?.ToRecord();
    }

    public async Task<Page<PrincipalRecord>> ListAsync(string? after, int limit, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"{Select} WHERE (@after IS NULL OR p.id > @after) ORDER BY p.id LIMIT @take",
            new { after, take = limit + 1, now = UnixTime.Ms(now) }, cancellationToken: ct));
        return Page<PrincipalRecord>.From(rows.Select(r => r.ToRecord()).ToList(), limit, p => p.Id);
    }

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public string Kind { get; init; } = "";
        public long CreatedAt { get; init; }
        public string? CreatedBy { get; init; }
        public long ActiveKeys { get; init; }

        public PrincipalRecord ToRecord() => new(Id, Kind, UnixTime.From(CreatedAt), CreatedBy, (int)ActiveKeys);
    }
}
