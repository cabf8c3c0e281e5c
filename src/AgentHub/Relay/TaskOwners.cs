using AgentHub.Storage;
using Dapper;

namespace AgentHub.Relay;

/// <summary>
/// Which verified caller created each task the hub has seen, per agent. Kept in the database, so every instance
/// enforces it. The first caller to see a task id owns it.
/// </summary>
internal sealed class TaskOwners(HubDatabase database, GroupCommit writes, TimeProvider time)
{
    public async Task RecordAsync(string agent, IReadOnlyCollection<string> taskIds, string owner, CancellationToken ct)
    {
        if (taskIds.Count == 0)
        {
            return;
        }

        // Group-committed with the other writes of concurrent calls: durable before the answer goes out, one commit for many.
        var now = UnixTime.Ms(time.GetUtcNow());
        var rows = taskIds.Distinct().Select(task => new { agent, task, owner, now }).ToList();
        await writes.ExecuteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO task_owners (agent_id, task_id, owner, created_at) VALUES (@agent, @task, @owner, @now)
            ON CONFLICT (agent_id, task_id) DO NOTHING
            """, rows, transaction))).WaitAsync(ct);
    }

    public async Task<string?> OwnerAsync(string agent, string taskId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            "SELECT owner FROM task_owners WHERE agent_id = @agent AND task_id = @taskId", new { agent, taskId }, cancellationToken: ct));
    }

    public async Task<HashSet<string>> OwnedAsync(string agent, string owner, IReadOnlyCollection<string> taskIds, CancellationToken ct)
    {
        if (taskIds.Count == 0)
        {
            return [];
        }

        await using var connection = await database.OpenAsync(ct);
        var owned = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT task_id FROM task_owners WHERE agent_id = @agent AND owner = @owner",
            new { agent, owner }, cancellationToken: ct));
        return owned.Where(taskIds.Contains).ToHashSet();
    }
}
