using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AgentHub.Tests.Infrastructure;

/// <summary>
/// The built <c>agenthub</c> executable as a real process on a real Kestrel socket: for what only a real process
/// shows (signals, TLS, Kestrel limits, two instances on one database, the console output).
/// </summary>
public sealed partial class HubProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<Uri> _listeningUrls = [];
    private readonly SemaphoreSlim _outputChanged = new(0);
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubProcess(Process process)
    {
        _process = process;
    }

    public Uri Url { get; private set; } = null!;

    public int ProcessId => _process.Id;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Path of the agenthub.dll built in the same configuration as the tests.</summary>
    public static string ExecutablePath
    {
        get
        {
            var testBin = AppContext.BaseDirectory; // tests/AgentHub.Tests/bin/<Configuration>/net10.0/
            var configuration = new DirectoryInfo(testBin).Parent!.Name;
            var root = RepoRoot();
            var path = Path.Combine(root, "src", "AgentHub", "bin", configuration, "net10.0", "agenthub.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"Build src/AgentHub first: {path} is missing.");
        }
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "AgentHub.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("AgentHub.slnx not found above the test binaries.");
    }

    /// <summary>Runs <c>agenthub</c> with the arguments and waits for it to exit (for CLI verbs).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args,
        IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        using var process = new Process { StartInfo = StartInfo(args, environment) };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        var result = (process.ExitCode, await stdout, await stderr);
        // stdout is where 'keys create' deliberately prints a new key; stderr and the hub's logs must never hold one.
        TestArtifacts.Log($"agenthub {string.Join(' ', args)} -> {result.ExitCode}\n{result.Item3}");
        return result;
    }

    /// <summary>
    /// Starts <c>agenthub serve</c> on a free loopback port and waits until it listens. Unless the arguments or the
    /// environment say otherwise, the metrics listener gets a free loopback port too (<c>--metrics-urls
    /// http://127.0.0.1:0</c>), so hubs started in parallel never compete for the default 9464.
    /// </summary>
    /// <param name="dataDir">--data; null leaves the default (./data under <paramref name="workingDirectory"/>).</param>
    /// <param name="urls">--urls; null leaves the default.</param>
    public static async Task<HubProcess> StartAsync(string? dataDir, IEnumerable<string>? extraArgs = null,
        IDictionary<string, string?>? environment = null, string? urls = "http://127.0.0.1:0", string? workingDirectory = null)
    {
        var args = new List<string> { "serve" };
        if (dataDir is not null)
        {
            args.AddRange(["--data", dataDir]);
        }

        if (urls is not null)
        {
            args.AddRange(["--urls", urls]);
        }

        args.AddRange(extraArgs ?? []);
        if (!args.Contains("--metrics-urls") && environment?.ContainsKey("AGENTHUB_METRICS__URLS") != true)
        {
            args.AddRange(["--metrics-urls", "http://127.0.0.1:0"]);
        }

        var process = new Process { StartInfo = StartInfo(args, environment), EnableRaisingEvents = true };
        if (workingDirectory is not null)
        {
            process.StartInfo.WorkingDirectory = workingDirectory;
        }

        var hub = new HubProcess(process);
        process.OutputDataReceived += (_, e) => hub.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => hub.OnLine(e.Data);
        process.Exited += (_, _) => hub._outputChanged.Release();
        process.Exited += (_, _) => hub._listening.TrySetException(
            new InvalidOperationException("agenthub exited before listening:\n" + string.Join('\n', hub.Output)));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (cts.Token.Register(() => hub._listening.TrySetCanceled()))
        {
            hub.Url = await hub._listening.Task;
        }

        return hub;
    }

    /// <summary>Every URL of a "Now listening on" line so far, in the order Kestrel bound them.</summary>
    public IReadOnlyList<Uri> ListeningUrls
    {
        get
        {
            lock (_output)
            {
                return [.. _listeningUrls];
            }
        }
    }

    /// <summary>
    /// The metrics listener's URL. The hub binds it after the --urls ones and prints its own start line after every
    /// "Now listening on" line, so once that line is out the last listening URL is the metrics listener's.
    /// </summary>
    public async Task<Uri> MetricsUrlAsync()
    {
        await WaitForOutputAsync("AgentHub listening on");
        var urls = ListeningUrls;
        Assert.True(urls.Count >= 2, "no metrics listener: " + string.Join(", ", urls));
        return urls[^1];
    }

    /// <summary>Waits until the process prints a line containing <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (!Output.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            Assert.False(_process.HasExited && !Output.Any(l => l.Contains(text, StringComparison.Ordinal)),
                $"agenthub exited without printing '{text}'");
            await _outputChanged.WaitAsync(cts.Token);
        }
    }

    /// <summary>Waits for the process to exit on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM and waits for the process to exit; returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            Terminate(_process.Id);
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public static void Terminate(int pid)
    {
        using var kill = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _outputChanged.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var match = ListeningPattern().Match(line);
        lock (_output)
        {
            _output.Add(line);
            if (match.Success)
            {
                _listeningUrls.Add(new Uri(match.Groups[1].Value));
            }
        }

        TestArtifacts.Log(line);
        _outputChanged.Release();
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The child must not inherit a developer's hub settings.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("AGENTHUB_", StringComparison.Ordinal) && k != "AGENTHUB_TEST_LOG_DIR").ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        return info;
    }

    [GeneratedRegex("Now listening on: (https?://[^\\s\",}]+)")]
    private static partial Regex ListeningPattern();
}
