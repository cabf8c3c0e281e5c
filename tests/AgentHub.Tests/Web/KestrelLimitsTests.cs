using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;
using AgentHub.Web;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentHub.Tests.Web;

/// <summary>
/// Kestrel's limits, on the real process (the test server enforces none of them): their defaults, and that each one
/// follows its <c>Limits:*</c> setting.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class KestrelLimitsTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public void Limits_options_defaults_are_the_documented_ones()
    {
        var defaults = new LimitsOptions();

        Assert.Equal(MiB, defaults.MaxRequestBodyBytes);
        Assert.Equal(32 * 1024, defaults.MaxRequestHeadersTotalBytes);
        Assert.Equal(64, defaults.MaxRequestHeaderCount);
        Assert.Equal(4096, defaults.MaxConcurrentConnections);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.RequestHeadersTimeout);
        Assert.Equal(100, defaults.PrincipalRequestsPerSecond);
        Assert.Equal(200, defaults.PrincipalBurst);
        Assert.Equal(200, defaults.AddressRequestsPerSecond);
        Assert.Equal(400, defaults.AddressBurst);
        Assert.Equal(4096, defaults.ListenBacklog);
    }

    [Fact]
    public async Task Kestrel_receives_the_default_limits()
    {
        await using var hub = await HubTestHost.StartAsync();

        var kestrel = hub.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;

        Assert.False(kestrel.AddServerHeader);
        Assert.Equal(MiB, kestrel.Limits.MaxRequestBodySize);
        Assert.Equal(32 * 1024, kestrel.Limits.MaxRequestHeadersTotalSize);
        Assert.Equal(64, kestrel.Limits.MaxRequestHeaderCount);
        Assert.Equal(4096, kestrel.Limits.MaxConcurrentConnections);
        Assert.Equal(TimeSpan.FromSeconds(10), kestrel.Limits.RequestHeadersTimeout);
        Assert.Equal(4096, hub.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.Backlog);
    }

    [Fact]
    public async Task Body_over_one_mebibyte_gets_413_problem_and_one_mebibyte_is_accepted()
    {
        await using var hub = await RunningHub.StartAsync();

        using var atLimit = await hub.Admin.PostAsync("/api/v1/keys", PaddedKeyRequest(MiB));
        using var overLimit = await hub.Admin.PostAsync("/api/v1/keys", PaddedKeyRequest(MiB + 1));

        Assert.Equal(HttpStatusCode.Created, atLimit.StatusCode);
        TestArtifacts.Secret((await atLimit.Content.ReadFromJsonAsync<CreatedKey>())!.Key);
        await WebAssert.CleanProblemAsync(overLimit, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Chunked_body_over_one_mebibyte_gets_413_problem()
    {
        await using var hub = await RunningHub.StartAsync();
        var content = PaddedKeyRequest(MiB + 1);
        content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await hub.Admin.SendAsync(request);

        await WebAssert.CleanProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Headers_over_32_kibibytes_get_431_and_just_under_is_accepted()
    {
        await using var hub = await RunningHub.StartAsync();

        using var under = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 4).Select(i => ($"X-Pad-{i}", new string('a', 7 * 1024))));
        using var over = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 5).Select(i => ($"X-Pad-{i}", new string('a', 7 * 1024))));

        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, over.StatusCode);
    }

    [Fact]
    public async Task More_than_64_headers_get_431_and_fewer_are_accepted()
    {
        await using var hub = await RunningHub.StartAsync();

        using var under = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 60).Select(i => ($"X-H-{i}", "1")));
        using var over = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 70).Select(i => ($"X-H-{i}", "1")));

        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, over.StatusCode);
    }

    [Fact]
    public async Task Configured_body_limit_is_honoured()
    {
        await using var hub = await RunningHub.StartAsync(("AGENTHUB_LIMITS__MAXREQUESTBODYBYTES", "2048"));

        using var atLimit = await hub.Admin.PostAsync("/api/v1/keys", PaddedKeyRequest(2048));
        using var overLimit = await hub.Admin.PostAsync("/api/v1/keys", PaddedKeyRequest(2049));

        Assert.Equal(HttpStatusCode.Created, atLimit.StatusCode);
        TestArtifacts.Secret((await atLimit.Content.ReadFromJsonAsync<CreatedKey>())!.Key);
        await WebAssert.CleanProblemAsync(overLimit, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Configured_header_size_limit_is_honoured()
    {
        await using var hub = await RunningHub.StartAsync(("AGENTHUB_LIMITS__MAXREQUESTHEADERSTOTALBYTES", "2048"));

        using var under = await hub.GetHealthWithHeadersAsync([("X-Pad", new string('a', 1024))]);
        using var over = await hub.GetHealthWithHeadersAsync([("X-Pad", new string('a', 3 * 1024))]);

        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, over.StatusCode);
    }

    [Fact]
    public async Task Configured_header_count_limit_is_honoured()
    {
        await using var hub = await RunningHub.StartAsync(("AGENTHUB_LIMITS__MAXREQUESTHEADERCOUNT", "16"));

        using var under = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 8).Select(i => ($"X-H-{i}", "1")));
        using var over = await hub.GetHealthWithHeadersAsync(Enumerable.Range(0, 20).Select(i => ($"X-H-{i}", "1")));

        Assert.Equal(HttpStatusCode.OK, under.StatusCode);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, over.StatusCode);
    }

    [Fact]
    public async Task Configured_request_headers_timeout_closes_a_slow_connection()
    {
        await using var hub = await RunningHub.StartAsync(("AGENTHUB_LIMITS__REQUESTHEADERSTIMEOUT", "00:00:01"));
        using var socket = await RawHttp.ConnectAsync(hub.Process.Url);
        await RawHttp.SendAsync(socket, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); // never finished

        // The default (10 s) would not close it within this bound.
        var answer = await RawHttp.ReadAsync(socket, TimeSpan.FromSeconds(8), until: null);

        Assert.DoesNotContain("200 OK", answer, StringComparison.Ordinal);
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task Default_connection_limit_of_4096_refuses_the_next_connection_and_keeps_serving_open_ones()
    {
        await using var hub = await RunningHub.StartAsync();
        await AssertConnectionLimitAsync(hub.Process.Url, 4096);
    }

    [Fact]
    public async Task Configured_connection_limit_is_honoured_and_a_closed_connection_frees_its_slot()
    {
        await using var hub = await RunningHub.StartAsync(("AGENTHUB_LIMITS__MAXCONCURRENTCONNECTIONS", "50"));
        var sockets = await AssertConnectionLimitAsync(hub.Process.Url, 50);

        // The first connection asked to close; once Kestrel has let it go, a new connection is served again.
        var deadline = Stopwatch.StartNew();
        string answer;
        do
        {
            answer = await RawHttp.TryRequestAsync(hub.Process.Url, TimeSpan.FromSeconds(10));
        }
        while (answer.Length == 0 && deadline.Elapsed < TimeSpan.FromSeconds(20));

        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Listen_backlog_is_as_deep_as_the_connection_limit_and_follows_its_setting()
    {
        await using var standard = await RunningHub.StartAsync();
        await using var configured = await RunningHub.StartAsync(("AGENTHUB_LIMITS__LISTENBACKLOG", "1000"));
        var somaxconn = int.Parse(File.ReadAllText("/proc/sys/net/core/somaxconn").Trim(), CultureInfo.InvariantCulture);

        // Kestrel's own 512 overflows under a burst of new connections (each dropped handshake costs its client seconds)
        Assert.Equal(Math.Min(4096, somaxconn), await ListenBacklogAsync(standard.Process.Url));
        Assert.Equal(Math.Min(1000, somaxconn), await ListenBacklogAsync(configured.Process.Url));
    }

    /// <summary>The backlog of the socket listening on the URL's port, as the kernel reports it (Send-Q of <c>ss -ltn</c>).</summary>
    private static async Task<int> ListenBacklogAsync(Uri url)
    {
        var start = new ProcessStartInfo("ss", ["-ltnH", $"sport = :{url.Port}"]) { RedirectStandardOutput = true };
        using var ss = Process.Start(start)!;
        var output = await ss.StandardOutput.ReadToEndAsync();
        await ss.WaitForExitAsync();
        var fields = output.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries); // State Recv-Q Send-Q Local Peer
        return int.Parse(fields[2], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Opens <paramref name="limit"/> connections, each kept alive after one request (so Kestrel has certainly counted
    /// it), checks that one more is closed without an answer while an open one still gets one.
    /// </summary>
    private static async Task<IReadOnlyList<Socket>> AssertConnectionLimitAsync(Uri url, int limit)
    {
        var sockets = new Socket[limit];
        var open = 0;
        try
        {
            await Parallel.ForAsync(0, limit, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            {
                sockets[i] = await RawHttp.ConnectAsync(url);
                Interlocked.Increment(ref open);
                var status = await RawHttp.HeadKeepAliveAsync(sockets[i], TimeSpan.FromSeconds(30));
                Assert.True(status == "HTTP/1.1 200 OK", $"connection {i}: {status}");
            });

            var refused = await RawHttp.TryRequestAsync(url, TimeSpan.FromSeconds(30));
            Assert.True(refused.Length == 0, $"connection {limit + 1} was served: {refused}");

            var served = await RawHttp.RequestAsync(sockets[0], "/healthz", TimeSpan.FromSeconds(30));
            Assert.StartsWith("HTTP/1.1 200 OK", served, StringComparison.Ordinal);
            Assert.EndsWith("Healthy\r\n0\r\n\r\n", served, StringComparison.Ordinal);
            return sockets;
        }
        catch
        {
            foreach (var socket in sockets.Where(s => s is not null))
            {
                socket.Dispose();
            }

            throw;
        }
        finally
        {
            TestArtifacts.Log($"connection limit test: {open} connections opened against {url}");
        }
    }

    /// <summary>A valid key request padded with JSON whitespace to exactly <paramref name="bytes"/> bytes.</summary>
    private static ByteArrayContent PaddedKeyRequest(int bytes)
    {
        var json = $$"""{"principal":"{{HubTestHost.UniqueUser()}}","role":"auditor"}""";
        var content = new ByteArrayContent(System.Text.Encoding.ASCII.GetBytes(json.PadRight(bytes)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private sealed class RunningHub : IAsyncDisposable
    {
        private readonly TempDirectory _data;

        private RunningHub(TempDirectory data, HubProcess process, HttpClient admin)
        {
            _data = data;
            Process = process;
            Admin = admin;
        }

        public HubProcess Process { get; }

        public HttpClient Admin { get; }

        public static async Task<RunningHub> StartAsync(params (string Name, string Value)[] environment)
        {
            var data = new TempDirectory();
            var process = await HubProcess.StartAsync(data.Path, environment: environment.ToDictionary(e => e.Name, e => (string?)e.Value));
            var adminKey = (await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim();
            TestArtifacts.Secret(adminKey);
            TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"))).Trim());
            var admin = new HttpClient { BaseAddress = process.Url };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
            return new RunningHub(data, process, admin);
        }

        /// <summary>GET /healthz (anonymous, never rate limited) with extra headers, on a fresh connection.</summary>
        public async Task<HttpResponseMessage> GetHealthWithHeadersAsync(IEnumerable<(string Name, string Value)> headers)
        {
            using var http = new HttpClient { BaseAddress = Process.Url };
            var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return await http.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            Admin.Dispose();
            await Process.DisposeAsync();
            _data.Dispose();
        }
    }
}
