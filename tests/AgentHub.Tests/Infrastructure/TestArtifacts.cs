using System.Collections.Concurrent;
using System.Text;

namespace AgentHub.Tests.Infrastructure;

/// <summary>
/// Everything the hub logs during the test run, and every secret the tests minted, written under
/// <c>AGENTHUB_TEST_LOG_DIR</c> (set by eng/test.sh): <c>*.log</c> and <c>*.secrets</c>. After all suites the script
/// checks that no secret appears in any log. Without the variable, files go to a temp folder.
/// </summary>
public static class TestArtifacts
{
    private static readonly Lock Sync = new();
    private static readonly string Dir = InitDir();
    private static readonly string LogPath = Path.Combine(Dir, $"dotnet-{Environment.ProcessId}.log");
    private static readonly string SecretsPath = Path.Combine(Dir, $"dotnet-{Environment.ProcessId}.secrets");
    private static readonly ConcurrentDictionary<string, byte> Secrets = new();

    public static string Directory => Dir;

    public static void Log(string line)
    {
        lock (Sync)
        {
            File.AppendAllText(LogPath, line + "\n", Encoding.UTF8);
        }
    }

    /// <summary>Records a secret the tests created, so the log check can prove it never reached a log.</summary>
    public static void Secret(string secret)
    {
        if (string.IsNullOrWhiteSpace(secret) || !Secrets.TryAdd(secret, 0))
        {
            return;
        }

        lock (Sync)
        {
            File.AppendAllText(SecretsPath, secret + "\n", Encoding.UTF8);
        }
    }

    private static string InitDir()
    {
        var dir = Environment.GetEnvironmentVariable("AGENTHUB_TEST_LOG_DIR");
        if (string.IsNullOrEmpty(dir))
        {
            dir = Path.Combine(Path.GetTempPath(), "agenthub-test-logs");
        }

        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }
}
