using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using AgentHub.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentHub.Tests.Hosting;

/// <summary>The real executable: defaults, first start, what it prints, graceful shutdown.</summary>
public sealed class ServeProcessTests
{
    [Fact]
    public async Task Serve_without_options_keeps_data_in_dot_data_and_listens_on_loopback_8080()
    {
        using var cwd = new TempDirectory();
        await using var hub = await HubProcess.StartAsync(dataDir: null, urls: null, workingDirectory: cwd.Path);

        Assert.Equal(new Uri("http://127.0.0.1:8080/"), hub.Url);
        var data = Path.Combine(cwd.Path, "data");
        foreach (var file in new[] { "master.key", "bootstrap-admin.key", "agenthub.db" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, file)));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        var adminKey = (await File.ReadAllTextAsync(Path.Combine(data, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(adminKey);
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data, "master.key"))).Trim());
        Assert.Equal(44, (await File.ReadAllTextAsync(Path.Combine(data, "master.key"))).Trim().Length); // 32 bytes, base64

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "agenthub.db")};Mode=ReadOnly"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode";
            Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        }

        using var http = new HttpClient { BaseAddress = hub.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/me")).StatusCode);

        // Start-up names the URL and the key file, never the key.
        var output = string.Join('\n', hub.Output);
        Assert.Contains("http://127.0.0.1:8080", output, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(data, "bootstrap-admin.key"), output, StringComparison.Ordinal);
        Assert.DoesNotContain(adminKey, output, StringComparison.Ordinal);
        Assert.DoesNotContain("ahk_", output, StringComparison.Ordinal);
        Assert.Equal(0, await hub.StopAsync());
    }

    [Fact]
    public async Task Second_start_reuses_master_key_and_does_not_bootstrap_again()
    {
        using var data = new TempDirectory();
        string adminKey;
        await using (var first = await HubProcess.StartAsync(data.Path))
        {
            adminKey = (await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim();
            TestArtifacts.Secret(adminKey);
            Assert.Equal(0, await first.StopAsync());
        }

        var masterKey = await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"));
        TestArtifacts.Secret(masterKey.Trim());
        await using var second = await HubProcess.StartAsync(data.Path);

        Assert.Equal(masterKey, await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key")));
        Assert.Equal(adminKey, (await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim());
        Assert.DoesNotContain(second.Output, l => l.Contains("created ", StringComparison.Ordinal) && l.Contains("bootstrap-admin.key", StringComparison.Ordinal));
        using var http = new HttpClient { BaseAddress = second.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task Sigterm_lets_an_in_flight_request_finish_then_exits_zero()
    {
        using var data = new TempDirectory();
        await using var hub = await HubProcess.StartAsync(data.Path);
        var adminKey = (await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(adminKey);

        // A request in flight when SIGTERM arrives: the hub has started reading its body (it answered
        // 100 Continue), and the body is sent only once shutdown has begun.
        var body = Encoding.UTF8.GetBytes("""{"principal":"user:late","role":"auditor"}""");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(hub.Url.Host, hub.Url.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/v1/keys HTTP/1.1\r\nHost: {hub.Url.Authority}\r\nAuthorization: Bearer {adminKey}\r\n" +
                   $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\nExpect: 100-continue\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.FlushAsync();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Assert.Equal("HTTP/1.1 100 Continue", await reader.ReadLineAsync());
        Assert.Equal("", await reader.ReadLineAsync());

        HubProcess.Terminate(GetPid(hub));
        await hub.WaitForOutputAsync("Application is shutting down");
        await stream.WriteAsync(body);
        await stream.FlushAsync();

        var statusLine = await reader.ReadLineAsync();
        Assert.Equal("HTTP/1.1 201 Created", statusLine);
        var response = await reader.ReadToEndAsync();
        var key = System.Text.RegularExpressions.Regex.Match(response, "ahk_[A-Za-z0-9_-]+").Value;
        TestArtifacts.Secret(key);
        Assert.Equal(0, await hub.WaitForExitAsync());
    }

    [Fact]
    public async Task Bad_configuration_stops_start_with_one_line_naming_the_key()
    {
        using var data = new TempDirectory();
        var (exit, stdout, stderr) = await HubProcess.RunAsync(["serve", "--data", data.Path, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string?> { ["AGENTHUB_LIMITS__MAXREQUESTHEADERCOUNT"] = "0" });

        Assert.Equal(1, exit);
        Assert.Contains("MaxRequestHeaderCount", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_stops_start_with_one_error_and_no_background_service_failing()
    {
        using var data = new TempDirectory();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["serve", "--data", data.Path, "--urls", $"http://127.0.0.1:{port}"]);

        Assert.Equal(1, exit);
        Assert.Contains("address already in use", stderr, StringComparison.Ordinal);
        // The services started before the listener stop quietly: a failed start is not also a crashed service.
        Assert.DoesNotContain("BackgroundService failed", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Master_key_from_environment_is_used_and_no_key_file_is_written()
    {
        using var data = new TempDirectory();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(masterKey);
        await using var hub = await HubProcess.StartAsync(data.Path, environment: new Dictionary<string, string?> { ["AGENTHUB_MASTER_KEY"] = masterKey });

        Assert.False(File.Exists(Path.Combine(data.Path, "master.key")));
        Assert.Equal(0, await hub.StopAsync());

        // The database is bound to that key: another key is refused with a clear message.
        var other = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(other);
        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--data", data.Path, "--urls", "http://127.0.0.1:0"],
            new Dictionary<string, string?> { ["AGENTHUB_MASTER_KEY"] = other });
        Assert.Equal(1, exit);
        Assert.Contains("master key does not match", stderr, StringComparison.Ordinal);
    }

    private static int GetPid(HubProcess hub) => hub.ProcessId;
}
