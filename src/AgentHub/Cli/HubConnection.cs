using System.CommandLine;
using System.Text.Json;
using AgentHub.Client;

namespace AgentHub.Cli;

/// <summary>How the management verbs reach a running hub: <c>--hub</c>, and a key from <c>--key-file</c> or <c>AGENTHUB_KEY</c>.</summary>
internal static class HubConnection
{
    public const string DefaultHub = "http://127.0.0.1:8080";

    public static readonly Option<string> Hub = new("--hub")
    {
        Description = $"URL of the hub [default: {DefaultHub}; env AGENTHUB_HUB]",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AGENTHUB_HUB") is { Length: > 0 } hub ? hub : DefaultHub,
    };

    public static readonly Option<FileInfo?> KeyFile = new("--key-file")
    {
        Description = "File holding the API key [default: the AGENTHUB_KEY environment variable]",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the hub's JSON answer instead of a table",
        Recursive = true,
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(Hub);
        command.Options.Add(KeyFile);
        command.Options.Add(Json);
    }

    /// <summary>Runs a verb against the hub; turns the hub's refusals and unreachable hubs into one clear line and exit 1.</summary>
    public static async Task<int> RunAsync(ParseResult result, Func<AgentHubClient, TextWriter, Task> action)
    {
        var stderr = result.InvocationConfiguration.Error;
        var hub = result.GetValue(Hub)!;
        if (!Uri.TryCreate(hub.EndsWith('/') ? hub : hub + "/", UriKind.Absolute, out var hubUrl) ||
            (hubUrl.Scheme != Uri.UriSchemeHttp && hubUrl.Scheme != Uri.UriSchemeHttps))
        {
            await stderr.WriteLineAsync($"error: --hub '{hub}' is not an http(s) URL.");
            return HubCli.Usage;
        }

        string? key;
        var file = result.GetValue(KeyFile);
        try
        {
            key = file is not null ? (await File.ReadAllTextAsync(file.FullName)).Trim() : Environment.GetEnvironmentVariable("AGENTHUB_KEY")?.Trim();
        }
        catch (IOException e)
        {
            await stderr.WriteLineAsync($"error: cannot read --key-file: {e.Message}");
            return HubCli.Failure;
        }

        if (string.IsNullOrEmpty(key))
        {
            await stderr.WriteLineAsync("error: no API key: set AGENTHUB_KEY or pass --key-file (the first admin key is in DATA/bootstrap-admin.key).");
            return HubCli.Usage;
        }

        var client = AgentHubClient.Create(hubUrl, key);
        try
        {
            await action(client, result.InvocationConfiguration.Output);
            return HubCli.Ok;
        }
        catch (AgentHubException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return HubCli.Failure;
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"error: cannot reach the hub at {hubUrl}: {e.Message}");
            return HubCli.Failure;
        }
        catch (TaskCanceledException)
        {
            await stderr.WriteLineAsync($"error: the hub at {hubUrl} did not answer in time.");
            return HubCli.Failure;
        }
    }

    /// <summary>Follows the <c>next</c> cursors of a paged list to the end (the CLI prints whole lists).</summary>
    public static async Task<List<T>> AllPagesAsync<T>(Func<string?, Task<Page<T>>> page)
    {
        var all = new List<T>();
        string? after = null;
        do
        {
            var current = await page(after);
            all.AddRange(current.Items);
            after = current.Next;
        }
        while (after is not null);

        return all;
    }

    public static string ToJson<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Serialize(value, type);
}
