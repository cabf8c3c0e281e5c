using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using AgentHub.Audit;
using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Storage;

/// <summary>
/// A full disk: writes are refused with 507 and Retry-After, saying so; reads keep working; nothing refused is half
/// written; the hub writes again by itself once space is freed. The data directory is a small tmpfs (needs root).
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public void StorageFull_recognises_SQLITE_FULL_also_inside_an_audit_failure_and_nothing_else()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        Execute(connection, "CREATE TABLE t (v BLOB); PRAGMA max_page_count = 3;");
        var full = Assert.Throws<SqliteException>(() => Execute(connection, "INSERT INTO t VALUES (zeroblob(100000))"));
        var constraint = Assert.Throws<SqliteException>(() => Execute(connection, "CREATE TABLE u (v INTEGER NOT NULL); INSERT INTO u VALUES (NULL)"));

        Assert.True(StorageFull.Is(full));
        Assert.True(StorageFull.Is(new AuditUnavailableException("The audit record could not be written.", full)));
        Assert.False(StorageFull.Is(constraint));
        Assert.False(StorageFull.Is(new IOException("disk")));
    }

    [TmpfsFact]
    public async Task Full_disk_refuses_writes_with_507_keeps_reads_and_recovers_once_space_is_freed()
    {
        string? mount = null;
        try
        {
            await using var hub = await HubTestHost.StartAsync(prepareData: path =>
            {
                Tmpfs.Mount(path, "3m");
                mount = path;
            });
            using var admin = hub.Http(hub.AdminKey);
            var filler = Path.Combine(hub.DataDir, "filler");
            Fill(filler, leave: 64 * 1024);

            HttpResponseMessage? refused = null;
            var acknowledged = new List<string>();
            for (var i = 0; i < 500 && refused is null; i++)
            {
                var response = await admin.PostJsonAsync("/api/v1/keys", $$"""{"principal":"user:full-{{i}}","role":"operator","name":"{{new string('n', 100)}}"}""");
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    var created = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
                    acknowledged.Add(created.GetProperty("id").GetString()!);
                    TestArtifacts.Secret(created.GetProperty("key").GetString()!);
                }
                else
                {
                    refused = response;
                }
            }

            Assert.NotNull(refused);
            var problem = await HttpAssert.ProblemAsync(refused!, HttpStatusCode.InsufficientStorage);
            Assert.Equal("Storage full", problem.Title);
            Assert.Contains("full", problem.Detail, StringComparison.Ordinal);
            Assert.Equal("5", refused!.Headers.RetryAfter?.ToString());

            // not a byte left: reads keep working, acknowledged writes are all there
            TopUp(filler);
            foreach (var id in acknowledged)
            {
                using var read = await admin.GetAsync($"/api/v1/keys/{id}");
                Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            }

            // The refused write left room inside the log file that small commits reuse; once that is gone too, the
            // reads' authentication records wait in memory, and the reads still succeed.
            var audit = hub.Services.GetRequiredService<AuditLog>();
            for (var i = 0; i < 1000 && audit.HeldCount == 0; i++)
            {
                using var list = await admin.GetAsync("/api/v1/keys");
                Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            }

            Assert.True(audit.HeldCount > 0);

            // space is freed: writes succeed again, and the reads' records reach the log
            File.Delete(filler);
            var deadline = Stopwatch.StartNew();
            HttpStatusCode status;
            do
            {
                using var again = await admin.PostJsonAsync("/api/v1/keys", """{"principal":"user:after-full","role":"operator"}""");
                status = again.StatusCode;
                if (status == HttpStatusCode.Created)
                {
                    TestArtifacts.Secret((await again.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!);
                }
                else
                {
                    await Task.Delay(100);
                }
            }
            while (status != HttpStatusCode.Created && deadline.Elapsed < TimeSpan.FromSeconds(10));

            Assert.Equal(HttpStatusCode.Created, status);
            while (audit.HeldCount > 0 && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }

            Assert.Equal(0, audit.HeldCount);
            var heldRecords = 0;
            for (string? after = "0"; after is not null;)
            {
                using var page = await admin.GetFromJsonAsync<System.Text.Json.JsonDocument>($"/api/v1/audit?type=auth.success&limit=200&after={after}");
                heldRecords += page!.RootElement.GetProperty("items").EnumerateArray().Count(r => r.GetProperty("details").TryGetProperty("held_since", out _));
                after = page.RootElement.TryGetProperty("next", out var next) && next.ValueKind == System.Text.Json.JsonValueKind.String ? next.GetString() : null;
            }

            Assert.True(heldRecords > 0);
        }
        finally
        {
            if (mount is not null)
            {
                Tmpfs.Unmount(mount);
            }
        }
    }

    private static void Fill(string path, int leave)
    {
        var chunk = new byte[64 * 1024];
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            try
            {
                while (true)
                {
                    stream.Write(chunk);
                    stream.Flush();
                }
            }
            catch (IOException)
            {
                // ENOSPC: the file system is full
            }
        }

        using var again = new FileStream(path, FileMode.Open);
        again.SetLength(Math.Max(0, again.Length - leave));
    }

    private static void TopUp(string path)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 0);
        foreach (var size in new[] { 64 * 1024, 4096, 512 })
        {
            var chunk = new byte[size];
            try
            {
                while (true)
                {
                    stream.Write(chunk);
                    stream.Flush();
                }
            }
            catch (IOException)
            {
                // full at this size; try a smaller one
            }
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>A fact that needs a tmpfs mount (root, and a kernel that lets us mount): skipped, with the reason, otherwise.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(Tmpfs.Probe);

    public TmpfsFactAttribute()
    {
        if (Unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }
}

internal static class Tmpfs
{
    public static void Mount(string path, string size)
    {
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path);
        if (code != 0)
        {
            throw new InvalidOperationException($"mount tmpfs on {path}: {output}");
        }
    }

    public static void Unmount(string path)
    {
        if (Run("umount", path).Code != 0)
        {
            Run("umount", "-l", path);
        }

        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // the temp cleaner takes it
        }
    }

    /// <summary>Why a tmpfs cannot be mounted here, or null when it can (tried on a scratch directory).</summary>
    public static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "mounting a tmpfs needs Linux";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "mounting a tmpfs needs root";
        }

        var scratch = Directory.CreateTempSubdirectory("agenthub-tmpfs-probe-").FullName;
        try
        {
            var (code, output) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", scratch);
            if (code != 0)
            {
                return $"mount is not permitted here: {output}";
            }

            Run("umount", scratch);
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"mount could not run: {e.Message}";
        }
        finally
        {
            Directory.Delete(scratch);
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
