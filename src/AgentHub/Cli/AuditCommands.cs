using System.CommandLine;
using AgentHub.Audit;
using AgentHub.Storage;

namespace AgentHub.Cli;

/// <summary><c>audit verify</c> works on local data by design (no trust in a running hub); <c>export</c> and <c>list</c> use the API.</summary>
internal static class AuditCommands
{
    public static Command Audit()
    {
        var audit = new Command("audit", "Verify and export the tamper-evident audit log (query it with GET /api/v1/audit).");

        var data = new Option<string?>("--data") { Description = "Data directory of the hub (SQLite database and DATA/audit/checkpoints) [default: ./data]", HelpName = "DIR" };
        var database = new Option<string?>("--database") { Description = "PostgreSQL connection string; checkpoints are still read from --data when given", HelpName = "CONN" };
        var file = new Option<FileInfo?>("--file") { Description = "Verify an export (from 'audit export') instead of a database", HelpName = "FILE" };
        var jwks = new Option<FileInfo?>("--jwks") { Description = "Trusted JWKS of the hub (e.g. a saved /.well-known/jwks.json); required with --file", HelpName = "FILE" };
        var verify = new Command("verify", """
            Re-derive every record hash, the hash chain, the Merkle root at every checkpoint and every checkpoint signature,
            and check the log still holds every record a checkpoint covers. Exit 0 with 'OK: N records, M checkpoints';
            exit 1 naming the first bad sequence number and what is wrong.
            """)
        {
            data, database, file, jwks,
        };
        verify.SetAction(async (result, ct) =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            try
            {
                var trusted = result.GetValue(jwks) is { } j ? AuditSources.ReadJwks(j.FullName) : null;
                VerifyResult outcome;
                if (result.GetValue(file) is { } export)
                {
                    if (trusted is null)
                    {
                        await error.WriteLineAsync("error: --file needs --jwks (the hub's public keys you trust).");
                        return HubCli.Usage;
                    }

                    outcome = await AuditSources.VerifyExportAsync(export.FullName, trusted);
                }
                else
                {
                    var dataDir = Path.GetFullPath(result.GetValue(data) ?? "data");
                    var conn = result.GetValue(database);
                    if (string.IsNullOrEmpty(conn) && !File.Exists(Path.Combine(dataDir, "agenthub.db")))
                    {
                        await error.WriteLineAsync($"error: no hub database in {dataDir} (use --data DIR or --database CONN).");
                        return HubCli.Failure;
                    }

                    await using var db = HubDatabase.Open(conn, dataDir);
                    await using var connection = await db.OpenAsync(ct);
                    outcome = await AuditSources.VerifyDatabaseAsync(connection, null,
                        AuditSources.ReadCheckpointFile(AuditCheckpointer.FilePath(dataDir)), trusted, ct);
                }

                await (outcome.Ok ? output : error).WriteLineAsync(outcome.ToString());
                return outcome.Ok ? HubCli.Ok : HubCli.Failure;
            }
            catch (Exception e) when (e is IOException or FormatException or System.Text.Json.JsonException or System.Data.Common.DbException or ArgumentException)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return HubCli.Failure;
            }
        });

        var output = new Option<FileInfo>("--out") { Description = "Where to write the export (NDJSON: records, then checkpoints)", Required = true, HelpName = "FILE" };
        var export = new Command("export", "Stream every audit record and checkpoint from the hub to a file (auditor or admin key).") { output };
        HubConnection.AddTo(export);
        export.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, stdout) =>
        {
            var path = result.GetValue(output)!.FullName;
            var lines = await client.ExportAuditAsync(path, ct);
            await stdout.WriteLineAsync($"Wrote {lines} lines to {path}.");
        }));

        audit.Subcommands.Add(verify);
        audit.Subcommands.Add(export);
        return audit;
    }
}
