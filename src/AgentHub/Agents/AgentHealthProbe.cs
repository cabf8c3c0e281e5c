using Microsoft.Extensions.Options;

namespace AgentHub.Agents;

/// <summary>
/// Marks each agent's upstream up or down: any HTTP answer to a GET of the upstream URL within the timeout is up;
/// no connection, a refused address or a timeout is down. State lives in the database, so every instance sharing it
/// shows the same health.
/// </summary>
internal sealed partial class AgentHealthProbe(
    IServiceScopeFactory scopes,
    IHttpClientFactory clients,
    TimeProvider time,
    IOptionsMonitor<AgentsOptions> options,
    ILogger<AgentHealthProbe> logger) : BackgroundService
{
    public const string ClientName = "agenthub-agent-probe";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.CurrentValue.HealthInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await ProbeOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogProbeFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down, or a start that failed (a port in use): not a failure of this service.
        }
    }

    /// <summary>Probes every registered agent once and records the result.</summary>
    public async Task ProbeOnceAsync(CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var store = scope.ServiceProvider.GetRequiredService<IAgentStore>();
        var agents = await store.ListUpstreamsAsync(ct);
        await Parallel.ForEachAsync(agents, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (agent, token) =>
        {
            var health = await ProbeAsync(agent.UpstreamUrl, token) ? AgentHealth.Up : AgentHealth.Down;
            await store.SetHealthAsync(agent.Id, health, time.GetUtcNow(), token);
        });
    }

    private async Task<bool> ProbeAsync(string upstream, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.CurrentValue.HealthTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, upstream);
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or UriFormatException ||
                                  (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Agent health probe failed; the next tick retries")]
    private partial void LogProbeFailed(Exception exception);
}
