using System.Text;
using System.Text.Json;
using AgentHub.Identity;
using AgentHub.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentHub.Audit;

internal sealed record AuditEntry(long Seq, DateTimeOffset Time, string Type, string Actor, string? Target, string Outcome,
    IReadOnlyDictionary<string, string> Details);

internal sealed record AuditPage(IReadOnlyList<AuditEntry> Items, string? Next);

internal sealed record CheckpointResponse(string Origin, long Size, string Root, DateTimeOffset Time, string Kid, string Jws);

internal sealed record InclusionProofResponse(long Seq, long TreeSize, long LeafIndex, string LeafHash, string RootHash, IReadOnlyList<string> Path);

internal sealed record ConsistencyProofResponse(long From, long To, string FromRoot, string ToRoot, IReadOnlyList<string> Proof);

/// <summary>
/// /api/v1/audit (auditor or admin): query, export, the latest signed checkpoint and RFC 9162 proofs. Hashes are base64.
/// </summary>
internal static class AuditApi
{
    public static RouteGroupBuilder MapAudit(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/audit").WithTags("Audit").RequireAuthorization(Policies.Auditor);
        // Read your writes: the outcome records of answered calls are queued, not awaited; a read waits for them first.
        group.AddEndpointFilter(async (context, next) =>
        {
            await context.HttpContext.RequestServices.GetRequiredService<AuditLog>().FlushAsync();
            return await next(context);
        });
        group.MapGet("/", Query);
        group.MapGet("/export", Export);
        group.MapGet("/checkpoints/latest", LatestCheckpoint);
        group.MapGet("/proofs/inclusion", Inclusion);
        group.MapGet("/proofs/consistency", Consistency);
        return group;
    }

    internal static async Task<Results<Ok<AuditPage>, ValidationProblem>> Query(AuditStore store, CancellationToken ct,
        string? type = null, string? actor = null, string? agent = null, DateTimeOffset? since = null, DateTimeOffset? until = null,
        long? after = null, int limit = Page<object>.DefaultLimit)
    {
        if (Paging.Invalid(limit) is { } problem)
        {
            return problem;
        }

        var (items, next) = await store.QueryAsync(new AuditQuery(type, actor, agent, since, until, after, limit), ct);
        return TypedResults.Ok(new AuditPage(items.Select(ToEntry).ToList(), next?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>NDJSON: every record (<c>"kind":"record"</c>) in order, then every checkpoint (<c>"kind":"checkpoint"</c>).</summary>
    internal static async Task Export(AuditStore store, HttpContext context, CancellationToken ct)
    {
        context.Response.ContentType = "application/x-ndjson";
        var body = context.Response.Body;
        await foreach (var record in store.AllAsync(ct))
        {
            await body.WriteAsync(ExportLine(record), ct);
        }

        foreach (var jws in await store.CheckpointsAsync(ct))
        {
            await body.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new ExportLineDto("checkpoint", Jws: jws), HubJsonContext.Default.ExportLineDto) + "\n"), ct);
        }
    }

    internal static async Task<Results<Ok<CheckpointResponse>, NotFound<Microsoft.AspNetCore.Mvc.ProblemDetails>>> LatestCheckpoint(AuditStore store, CancellationToken ct)
    {
        var jws = await store.LatestCheckpointAsync(ct);
        if (jws is null || CheckpointJws.Parse(jws) is not { } c)
        {
            return TypedResults.NotFound(new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = 404, Title = "No checkpoint", Detail = "No checkpoint has been signed yet." });
        }

        return TypedResults.Ok(new CheckpointResponse(c.Origin, c.Size, Convert.ToBase64String(c.Root), c.Time, c.Kid, c.Jws));
    }

    internal static async Task<Results<Ok<InclusionProofResponse>, ValidationProblem>> Inclusion(AuditStore store, long seq, long size, CancellationToken ct)
    {
        var current = await store.SizeAsync(ct);
        var errors = new Dictionary<string, string[]>();
        if (size < 1 || size > current)
        {
            errors["size"] = [$"size must be between 1 and the log size ({current})."];
        }

        if (seq < 1 || seq > size)
        {
            errors["seq"] = ["seq must be between 1 and size."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var leaves = await store.LeavesAsync(size, ct);
        var path = Merkle.InclusionProof(leaves, (int)(seq - 1), (int)size);
        return TypedResults.Ok(new InclusionProofResponse(seq, size, seq - 1, Convert.ToBase64String(leaves[(int)(seq - 1)]),
            Convert.ToBase64String(Merkle.Root(leaves, 0, (int)size)), path.Select(Convert.ToBase64String).ToList()));
    }

    internal static async Task<Results<Ok<ConsistencyProofResponse>, ValidationProblem>> Consistency(AuditStore store, long from, long to, CancellationToken ct)
    {
        var current = await store.SizeAsync(ct);
        if (from < 1 || to < from || to > current)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["from"] = [$"need 1 <= from <= to <= the log size ({current})."],
            });
        }

        var leaves = await store.LeavesAsync(to, ct);
        var proof = Merkle.ConsistencyProof(leaves, (int)from, (int)to);
        return TypedResults.Ok(new ConsistencyProofResponse(from, to, Convert.ToBase64String(Merkle.Root(leaves, 0, (int)from)),
            Convert.ToBase64String(Merkle.Root(leaves, 0, (int)to)), proof.Select(Convert.ToBase64String).ToList()));
    }

    public static byte[] ExportLine(StoredRecord r) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new ExportLineDto("record",
        r.Seq, r.Time, r.Type, r.Actor, r.Target, r.Outcome, r.Record, Convert.ToBase64String(r.LeafHash), Convert.ToBase64String(r.ChainHash)),
        HubJsonContext.Default.ExportLineDto) + "\n");

    private static AuditEntry ToEntry(StoredRecord r)
    {
        var parsed = AuditRecord.Parse(Encoding.UTF8.GetBytes(r.Record));
        return new AuditEntry(r.Seq, UnixTime.From(r.Time), r.Type, r.Actor, r.Target, r.Outcome,
            parsed?.Details ?? new Dictionary<string, string>());
    }
}

/// <summary>One line of an export; records carry their exact hashed JSON in <see cref="Record"/>.</summary>
internal sealed record ExportLineDto(string Kind, long? Seq = null, long? Time = null, string? Type = null, string? Actor = null,
    string? Target = null, string? Outcome = null, string? Record = null, string? LeafHash = null, string? ChainHash = null, string? Jws = null)
{
    public StoredRecord ToStored() => new(Seq ?? 0, Time ?? 0, Type ?? "", Actor ?? "", Target, Outcome ?? "", Record ?? "",
        LeafHash is null ? [] : Convert.FromBase64String(LeafHash), ChainHash is null ? [] : Convert.FromBase64String(ChainHash));
}
