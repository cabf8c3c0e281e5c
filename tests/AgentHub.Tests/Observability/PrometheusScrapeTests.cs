using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Observability;

/// <summary>
/// A real Prometheus server scrapes a real hub (with its demo echo agent) over loopback; the relay-call counter and the
/// auth-failure counter are read back through Prometheus's query API; the dashboard's queries run against the same
/// server, so a PromQL syntax error there fails here.
/// </summary>
public sealed class PrometheusScrapeTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task Prometheus_scrapes_the_metrics_listener_and_answers_a_query_on_a_hub_counter()
    {
        var data = Path.Combine(_dir.Path, "data");
        await using var hub = await HubProcess.StartAsync(data, ["--demo"]);
        await hub.WaitForOutputAsync("Demo: agent 'echo' is registered");
        var admin = (await File.ReadAllTextAsync(Path.Combine(data, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(admin);
        var target = await hub.MetricsUrlAsync();
        await using var prometheus = await PrometheusServer.StartAsync(_dir.Path, target);

        const int Failures = 3;
        using var main = new HttpClient { BaseAddress = hub.Url };
        for (var i = 0; i < Failures; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-key");
            Assert.Equal(HttpStatusCode.Unauthorized, (await main.SendAsync(request)).StatusCode);
        }

        const int Calls = 2;
        for (var i = 0; i < Calls; i++)
        {
            var reply = await AgentHub.Client.AgentHubClient.Create(hub.Url, admin).SendMessageAsync("echo", "metrics");
            Assert.Equal("metrics", reply.GetProperty("message").GetProperty("parts")[0].GetProperty("text").GetString());
        }

        Assert.Equal(Calls, await prometheus.WaitForValueAsync(
            "agenthub_relay_calls_total{job=\"agenthub\",agent=\"echo\",method=\"SendMessage\",outcome=\"ok\"}", v => v >= Calls));
        var value = await prometheus.WaitForValueAsync("agenthub_auth_failures_total{job=\"agenthub\",reason=\"malformed\"}", v => v >= Failures);
        Assert.Equal(Failures, value);
        Assert.Equal(1, await prometheus.WaitForValueAsync("up{job=\"agenthub\"}", v => v == 1));
        Assert.True(await prometheus.WaitForValueAsync(
            "sum(agenthub_http_requests_total{job=\"agenthub\",route=\"/api/v1/me\",status=\"401\"})", v => v >= Failures) >= Failures);

        // Every dashboard query is valid PromQL for this server.
        foreach (var expr in DeployFiles.DashboardExpressions())
        {
            var query = expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$__range", "5m", StringComparison.Ordinal);
            var (status, body) = await prometheus.QueryAsync(query);
            Assert.True(status == HttpStatusCode.OK, $"{query}\n{body}");
        }
    }

    public void Dispose() => _dir.Dispose();

    /// <summary><c>/usr/bin/prometheus</c> with a temporary configuration and storage, on a free loopback port.</summary>
    private sealed class PrometheusServer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly HttpClient _http;

        private PrometheusServer(Process process, Uri url)
        {
            _process = process;
            _http = new HttpClient { BaseAddress = url };
        }

        public static async Task<PrometheusServer> StartAsync(string dir, Uri target)
        {
            var config = Path.Combine(dir, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: agenthub
                    static_configs:
                      - targets: ['{target.Authority}']
                """);
            var port = FreePort();
            var info = new ProcessStartInfo(PrometheusTools.Require(PrometheusTools.Server))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = dir,
            };
            foreach (var arg in new[]
            {
                $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "tsdb")}",
                $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            })
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, e) => Log(e.Data);
            process.ErrorDataReceived += (_, e) => Log(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new PrometheusServer(process, new Uri($"http://127.0.0.1:{port}"));
            try
            {
                await server.WaitAsync(() => "/-/ready", async () =>
                {
                    Assert.False(process.HasExited, $"prometheus exited with {(process.HasExited ? process.ExitCode : 0)}");
                    try
                    {
                        return (await server._http.GetAsync("/-/ready")).StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                });
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            return server;
        }

        public async Task<(HttpStatusCode Status, string Body)> QueryAsync(string query)
        {
            var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        /// <summary>Polls an instant query until its single sample satisfies the condition; returns that value.</summary>
        public async Task<double> WaitForValueAsync(string query, Func<double, bool> condition)
        {
            double? last = null;
            await WaitAsync(() => $"{query} (last value: {last?.ToString(CultureInfo.InvariantCulture) ?? "none"})", async () =>
            {
                var (status, body) = await QueryAsync(query);
                Assert.True(status == HttpStatusCode.OK, body);
                using var json = JsonDocument.Parse(body);
                var result = json.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() != 1)
                {
                    return false;
                }

                last = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
                return condition(last.Value);
            });
            return last!.Value;
        }

        private async Task WaitAsync(Func<string> what, Func<Task<bool>> condition)
        {
            var deadline = Stopwatch.StartNew();
            while (!await condition())
            {
                Assert.True(deadline.Elapsed < Deadline, $"prometheus: gave up waiting for {what()} after {Deadline}");
                await Task.Delay(TimeSpan.FromMilliseconds(200)); // poll interval, not a wait for the outcome
            }
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        private static void Log(string? line)
        {
            if (line is not null)
            {
                TestArtifacts.Log("prometheus: " + line);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
