using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Relay;

namespace AgentHub.Tests.Web;

/// <summary>
/// Replays the malformed-request corpus (Web/MalformedCorpus, seeds of every kind the security suite's malformed-input
/// check sends: invalid JSON and UTF-8, wrong types, duplicate keys, deep nesting, huge arrays, batches, unknown
/// methods, oversized bodies and headers, framing conflicts, bad header bytes, malformed signature headers) byte for
/// byte over a real socket to the hub on Kestrel: no answer is a 5xx, every answer has the right shape.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class MalformedCorpusTests
{
    private const string BadKey = "ahk_0000000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "Web", "MalformedCorpus");

    [Fact]
    public async Task Every_corpus_request_gets_a_clean_answer_under_500()
    {
        var files = Directory.Exists(Corpus) ? Directory.GetFiles(Corpus, "*.http").Order(StringComparer.Ordinal).ToList() : [];
        Assert.True(files.Count > 0, $"the corpus folder {Corpus} is empty");
        var kinds = files.Select(f => Path.GetFileNameWithoutExtension(f)[..^4]).Distinct().ToList();
        Assert.True(kinds.Count >= 12, $"the corpus has {kinds.Count} kinds: {string.Join(", ", kinds)}");

        await using var upstream = await EchoAgent.StartAsync();
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Agents:AllowedHosts:0"] = "127.0.0.1",
            ["Limits:AddressRequestsPerSecond"] = "1000000",
            ["Limits:AddressBurst"] = "1000000",
        }, kestrel: true);
        var keys = await SetUpAsync(hub, upstream);

        var failures = new List<string>();
        foreach (var file in files)
        {
            var (target, halfClose, request) = Read(file, keys);
            var answer = await SendAsync(hub.Url, request, halfClose);
            if (answer is null && halfClose)
            {
                continue; // less body than announced, then FIN: Kestrel ends the request; nobody is left to answer
            }

            var wrong = answer is null ? "no answer" : Judge(target, request, answer.Value);
            if (wrong is not null)
            {
                failures.Add($"{Path.GetFileName(file)}: {wrong}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Count} corpus requests were answered wrongly:\n" + string.Join('\n', failures.Take(20)));
        Assert.DoesNotContain(hub.Logs.Lines, l => l.Contains("Unhandled error", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<string, string?>> SetUpAsync(HubTestHost hub, EchoAgent upstream)
    {
        var admin = hub.AdminClient();
        var card = JsonDocument.Parse($$"""
            {"name":"Echo","description":"Echoes","version":"1.0.0",
             "supportedInterfaces":[{"url":"{{upstream.Url}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
             "skills":[{"id":"echo","name":"Echo","description":"Echoes text","tags":["demo"]}]}
            """).RootElement;
        var caller = await admin.RegisterAgentAsync(new RegisterAgentRequest("caller", Card: card));
        var target = await admin.RegisterAgentAsync(new RegisterAgentRequest("target", Card: card));
        TestArtifacts.Secret(caller.Key!.Key);
        TestArtifacts.Secret(target.Key!.Key);
        await admin.CreatePolicyAsync(new CreatePolicyRequest("agent:caller", "target", ["*"], "allow"));
        return new() { ["a2a"] = caller.Key.Key, ["a2a-anon"] = null, ["a2a-badkey"] = BadKey, ["api"] = hub.AdminKey };
    }

    /// <summary>A corpus file: a first line <c># target: a2a|a2a-anon|a2a-badkey|api[; half-close]</c>, then the raw request.</summary>
    private static (string Target, bool HalfClose, byte[] Request) Read(string file, Dictionary<string, string?> keys)
    {
        var bytes = File.ReadAllBytes(file);
        var newline = Array.IndexOf(bytes, (byte)'\n');
        var header = Encoding.ASCII.GetString(bytes, 0, newline);
        var target = header["# target: ".Length..].Split(';')[0].Trim();
        var request = Replace(bytes[(newline + 1)..], "{{KEY}}"u8.ToArray(), Encoding.ASCII.GetBytes(keys[target] ?? ""));
        // Each request on its own connection, which the server closes after answering.
        if (IndexOf(request, "\r\nConnection: close\r\n"u8.ToArray()) < 0)
        {
            var line = IndexOf(request, "\r\n"u8.ToArray());
            request = [.. request[..line], .. "\r\nConnection: close"u8.ToArray(), .. request[line..]];
        }

        return (target, header.Contains("half-close", StringComparison.Ordinal), request);
    }

    private static async Task<(int Status, string ContentType, byte[] Body)?> SendAsync(Uri url, byte[] request, bool halfClose)
    {
        // Refused at the head, the server may answer and close while the body is still coming, and the reset that
        // unread bytes cause can drop its answer: then again, the body only once the server has had time to answer.
        return await TrySendAsync(url, request, halfClose, waitAfterHead: null)
            ?? await TrySendAsync(url, request, halfClose, waitAfterHead: TimeSpan.FromSeconds(2));
    }

    private static async Task<(int Status, string ContentType, byte[] Body)?> TrySendAsync(Uri url, byte[] request, bool halfClose, TimeSpan? waitAfterHead)
    {
        using var socket = await RawHttp.ConnectAsync(url);
        try
        {
            if (waitAfterHead is { } wait)
            {
                var cut = IndexOf(request, "\r\n\r\n"u8.ToArray()) + 4;
                await socket.SendAsync(request.AsMemory(0, cut), SocketFlags.None);
                if (!socket.Poll(wait, SelectMode.SelectRead))
                {
                    await socket.SendAsync(request.AsMemory(cut), SocketFlags.None);
                }
            }
            else
            {
                await socket.SendAsync(request, SocketFlags.None);
            }

            if (halfClose)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
            // refused before the whole request was in: its answer, if any, is still read
        }

        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // reset: whatever arrived before it counts
        }

        return Parse(received.ToArray());
    }

    private static (int Status, string ContentType, byte[] Body)? Parse(byte[] response)
    {
        var end = IndexOf(response, "\r\n\r\n"u8.ToArray());
        if (end < 0)
        {
            return null;
        }

        var head = Encoding.Latin1.GetString(response, 0, end).Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        string Header(string name) => head.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(p => p[1].Trim()).FirstOrDefault() ?? "";
        var body = response[(end + 4)..];
        if (Header("Transfer-Encoding").Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return (status, Header("Content-Type").Split(';')[0].Trim(), body);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var line = IndexOf(chunked[at..], "\r\n"u8.ToArray());
            if (line < 0)
            {
                break;
            }

            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, at, line).Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked, at + line + 2, Math.Min(size, chunked.Length - at - line - 2));
            at += line + 2 + size + 2;
        }

        return body.ToArray();
    }

    /// <summary>What is wrong with the answer, or null when it is right (the same rules as the security check).</summary>
    private static string? Judge(string target, byte[] request, (int Status, string ContentType, byte[] Body) answer)
    {
        var (status, contentType, body) = answer;
        var text = Encoding.UTF8.GetString(body);
        if (status >= 500)
        {
            return $"HTTP {status}: {text}";
        }

        foreach (var leak in new[] { "   at ", "Exception", "System.", "Microsoft.", "AgentHub." })
        {
            if (text.Contains(leak, StringComparison.Ordinal))
            {
                return $"HTTP {status}: the body leaks '{leak}': {text}";
            }
        }

        if (body.Length == 0)
        {
            // Malformed HTTP refused by Kestrel before the hub runs ('*' is a target for OPTIONS only).
            var asterisk = IndexOf(request, " * HTTP/1.1"u8.ToArray()) is >= 0 and < 200;
            return status is 400 or 413 or 414 or 431 || (status == 405 && asterisk) ? null : $"HTTP {status} with an empty body";
        }

        var relay = target.StartsWith("a2a", StringComparison.Ordinal);
        if (relay && status == 200 && contentType == "text/event-stream")
        {
            var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return events.Length > 0 && events.All(e => e.StartsWith("data:", StringComparison.Ordinal) && IsRpc(e[5..], out _))
                ? null
                : $"an event stream of other than JSON-RPC events: {text}";
        }

        if (contentType == "application/problem+json")
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            var valid = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status &&
                root.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String;
            return !valid ? $"HTTP {status}: problem details without status and title: {text}"
                : relay && status is not (401 or 429) ? $"HTTP {status}: problem details from the relay: {text}"
                : null;
        }

        if (!relay)
        {
            return status is >= 200 and < 300 ? null : $"HTTP {status} {contentType}: not problem details: {text}";
        }

        if (contentType != "application/json" || !IsRpc(text, out var rpc))
        {
            return $"HTTP {status} {contentType}: not a JSON-RPC response: {text}";
        }

        if (rpc.TryGetProperty("result", out _) && status == 200)
        {
            return null;
        }

        return rpc.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object &&
            error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out _) &&
            error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
            ? null
            : $"HTTP {status}: JSON-RPC without a proper error object: {text}";
    }

    private static bool IsRpc(string json, out JsonElement rpc)
    {
        try
        {
            rpc = JsonDocument.Parse(json).RootElement;
            return rpc.ValueKind == JsonValueKind.Object && rpc.TryGetProperty("jsonrpc", out var v) && v.ValueKind == JsonValueKind.String &&
                v.GetString() == "2.0" && rpc.TryGetProperty("id", out _);
        }
        catch (JsonException)
        {
            rpc = default;
            return false;
        }
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    private static byte[] Replace(byte[] bytes, byte[] what, byte[] with)
    {
        var result = new List<byte>(bytes.Length);
        var rest = bytes.AsSpan();
        int i;
        while ((i = rest.IndexOf(what)) >= 0)
        {
            result.AddRange(rest[..i]);
            result.AddRange(with);
            rest = rest[(i + what.Length)..];
        }

        result.AddRange(rest);
        return [.. result];
    }
}
