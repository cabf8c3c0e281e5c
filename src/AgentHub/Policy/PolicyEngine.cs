using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace AgentHub.Policy;

/// <summary>Policy settings (section <c>Policy</c>).</summary>
internal sealed class PolicyOptions
{
    public const string Section = "Policy";

    /// <summary>How often each instance checks the database's policy version for changes made through other instances.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Policy:RefreshInterval must be between 00:00:00.010 and 00:10:00.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Most agents that may act for the original caller in one chain (U → A → B is one agent acting: depth 1).
    /// A call that would make the chain longer, or that reaches an agent already in it, is refused.
    /// </summary>
    [Range(0, 32, ErrorMessage = "Policy:MaxDelegationDepth must be between 0 and 32.")]
    public int MaxDelegationDepth { get; set; } = 4;
}

/// <summary>
/// The relay's policy decision: <see cref="Decide"/> reads the current compiled rules (one volatile read) and
/// allocates nothing. Until the rules are loaded every call is denied. Recompiles after a change made through this
/// instance at once, and when <see cref="PolicyRefresher"/> sees the database's version move (changes made elsewhere).
/// </summary>
internal sealed partial class PolicyEngine(PolicyStore store, ILogger<PolicyEngine> logger) : IDisposable
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile CompiledPolicy _current = CompiledPolicy.Empty;
    private long _loadsStarted; // incremented under _reload
    private long _loadsApplied; // the last load that completed, written under _reload

    public CompiledPolicy Current => _current;

    public PolicyDecision Decide(string callerPrincipal, string? callerRole, string agentId, string method) =>
        _current.Decide(callerPrincipal, callerRole, agentId, method);

    /// <summary>Reads every rule and compiles them; throws when the database cannot be read (the old rules stay).</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        await _reload.WaitAsync(ct);
        try
        {
            await LoadLockedAsync(ct);
        }
        finally
        {
            _reload.Release();
        }
    }

    private async Task LoadLockedAsync(CancellationToken ct)
    {
        var load = Interlocked.Increment(ref _loadsStarted);
        var (version, rules) = await store.LoadAllAsync(ct);
        if (version >= _current.Version) // else another reload already installed newer rules
        {
            _current = CompiledPolicy.Compile(version, rules);
            LogCompiled(rules.Count, version);
        }

        Volatile.Write(ref _loadsApplied, load);
    }

    /// <summary>Reloads when the database's policy version differs from the compiled one.</summary>
    public async Task<bool> RefreshAsync(CancellationToken ct)
    {
        if (await store.VersionAsync(ct) == _current.Version)
        {
            return false;
        }

        await LoadAsync(ct);
        return true;
    }

    /// <summary>
    /// After a change through this instance has committed: apply it now. Changes made together share one reload: a
    /// load that started after this change committed has read it, so when one has completed by the time this call
    /// holds the lock, there is nothing left to do. A failure is logged; the refresher retries.
    /// </summary>
    public async Task ReloadAfterChangeAsync(CancellationToken ct)
    {
        var committedBefore = Volatile.Read(ref _loadsStarted);
        try
        {
            await _reload.WaitAsync(ct);
            try
            {
                if (_loadsApplied <= committedBefore)
                {
                    await LoadLockedAsync(ct);
                }
            }
            finally
            {
                _reload.Release();
            }
        }
        catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
        {
            LogRefreshFailed(e, _current.Version);
        }
    }

    public void Dispose() => _reload.Dispose();

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Compiled {Count} policy rules at policy version {Version}")]
    private partial void LogCompiled(int count, long version);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Policy rules could not be refreshed; keeping the rules of policy version {Version}")]
    internal partial void LogRefreshFailed(Exception exception, long version);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Critical, Message = "Policy rules could not be loaded at start")]
    internal partial void LogLoadFailed(Exception exception);
}

/// <summary>
/// Loads the rules before the hub serves (no rules, no start) and then polls the policy version every
/// <see cref="PolicyOptions.RefreshInterval"/>, so a change made through another instance applies here within it.
/// A failed poll is logged and the last compiled rules stay in force.
/// </summary>
internal sealed class PolicyRefresher(PolicyEngine engine, IOptions<PolicyOptions> options, TimeProvider time) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.LoadAsync(cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
        {
            engine.LogLoadFailed(e);
            throw new StartupException($"The policy rules could not be loaded: {e.Message}");
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await engine.RefreshAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    engine.LogRefreshFailed(e, engine.Current.Version);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

internal static class PolicyServiceCollectionExtensions
{
    public static IServiceCollection AddPolicy(this IServiceCollection services)
    {
        services.AddOptions<PolicyOptions>().BindConfiguration(PolicyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<PolicyEngine>();
        services.AddHostedService<PolicyRefresher>();
        return services;
    }
}
