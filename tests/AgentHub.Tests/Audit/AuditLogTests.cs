using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Observability;
using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentHub.Tests.Audit;

public sealed class AuditLogTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Concurrent_appends_from_32_writers_on_two_instances_give_one_linear_chain(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        // Two writers over two data sources on one database: two hub instances.
        await using var first = NewLog(store.Database);
        await using var second = NewLog(store.OpenAnother());

        await Task.WhenAll(Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            var log = writer % 2 == 0 ? first : second;
            for (var i = 0; i < 40; i++)
            {
                await log.AppendAsync(new AuditEvent("test.append", $"user:w{writer}", $"{i}", AuditOutcome.Success));
            }
        })));

        await using var connection = await store.Database.OpenAsync(CancellationToken.None);
        var result = await AuditSources.VerifyDatabaseAsync(connection, null, [], [], CancellationToken.None);
        Assert.True(result.Ok, result.ToString());
        Assert.Equal(32 * 40, result.Records);
        var seqs = (await connection.QueryAsync<long>("SELECT seq FROM audit_records ORDER BY seq")).ToList();
        Assert.Equal(Enumerable.Range(1, 32 * 40).Select(i => (long)i), seqs);
        var perWriter = (await connection.QueryAsync<(string Actor, long Count)>("SELECT actor, COUNT(*) FROM audit_records GROUP BY actor")).ToList();
        Assert.Equal(32, perWriter.Count);
        Assert.All(perWriter, w => Assert.Equal(40, w.Count));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Proofs_from_the_api_verify_with_an_independent_rfc9162_verifier(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        await AuditTamperingTests.WriteRealLogAsync(hub);
        var auditor = await hub.CreateKeyAsync(HubTestHost.UniqueUser("aud"), "auditor");
        var http = hub.Http(auditor.Key);
        var checkpoint = await http.GetFromJsonAsync<JsonElement>("/api/v1/audit/checkpoints/latest");
        var signedSize = checkpoint.GetProperty("size").GetInt64();
        var signedRoot = Convert.FromBase64String(checkpoint.GetProperty("root").GetString()!);

        // The leaves, recomputed by the test from the exported records.
        var export = await http.GetStringAsync("/api/v1/audit/export");
        var leaves = export.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "record")
            .Select(e => Rfc9162.HashLeaf(System.Text.Encoding.UTF8.GetBytes(e.GetProperty("record").GetString()!)))
            .ToList();
        Assert.Equal(signedRoot, Rfc9162.TreeHash(leaves.Take((int)signedSize).ToList()));

        var random = new Random(7);
        var sizes = new List<long> { 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, signedSize };
        sizes.AddRange(Enumerable.Range(0, 20).Select(_ => random.NextInt64(1, signedSize + 1)));
        foreach (var size in sizes)
        {
            var root = Rfc9162.TreeHash(leaves.Take((int)size).ToList());
            foreach (var seq in new[] { 1, size, random.NextInt64(1, size + 1) }.Distinct())
            {
                var proof = await http.GetFromJsonAsync<JsonElement>($"/api/v1/audit/proofs/inclusion?seq={seq}&size={size}");
                var path = proof.GetProperty("path").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();
                Assert.True(Rfc9162.VerifyInclusion(seq - 1, size, leaves[(int)(seq - 1)], path, root), $"inclusion of {seq} in {size}");
                Assert.False(Rfc9162.VerifyInclusion(seq - 1, size, Rfc9162.HashLeaf([1, 2, 3]), path, root), "a wrong leaf must not verify");
            }

            var from = random.NextInt64(1, size + 1);
            var consistency = await http.GetFromJsonAsync<JsonElement>($"/api/v1/audit/proofs/consistency?from={from}&to={size}");
            var hashes = consistency.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();
            var fromRoot = Rfc9162.TreeHash(leaves.Take((int)from).ToList());
            Assert.True(Rfc9162.VerifyConsistency(from, size, fromRoot, root, hashes), $"consistency {from} -> {size}");
            if (from < size)
            {
                Assert.False(Rfc9162.VerifyConsistency(from, size, Rfc9162.HashLeaf([9]), root, hashes), "a wrong old root must not verify");
            }
        }
    }

    [Fact]
    public async Task Proof_requests_out_of_range_are_validation_problems()
    {
        await using var hub = await HubTestHost.StartAsync();
        var http = hub.Http(hub.AdminKey);

        foreach (var url in new[] { "/api/v1/audit/proofs/inclusion?seq=0&size=1", "/api/v1/audit/proofs/inclusion?seq=5&size=999999",
                     "/api/v1/audit/proofs/consistency?from=3&to=2", "/api/v1/audit/proofs/inclusion?seq=x&size=1" })
        {
            await HttpAssert.ProblemAsync(await http.GetAsync(url), HttpStatusCode.BadRequest);
        }
    }

    [Fact]
    public async Task Admin_changes_and_authentications_are_recorded_without_secrets()
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser("rec"), "operator");
        await hub.Client(key.Key).WhoAmIAsync();
        var forged = "ahk_" + key.Id + "_" + new string('B', 43);
        TestArtifacts.Secret(forged);
        await hub.Http(forged).GetAsync("/api/v1/me");
        await hub.AdminClient().RevokeKeyAsync(key.Id);
        await hub.AdminClient().RotateSigningKeyAsync();
        var http = hub.Http(hub.AdminKey);

        var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/audit?agent={key.Id}&limit=200");
        var records = page.GetProperty("items").EnumerateArray().ToList();
        var types = records.Select(r => (r.GetProperty("type").GetString(), r.GetProperty("outcome").GetString())).ToList();
        Assert.Contains(("key.create", "success"), types);
        Assert.Contains(("auth.success", "success"), types);
        Assert.Contains(("auth.failure", "failure"), types);
        Assert.Contains(("key.revoke", "success"), types);
        var failure = records.Single(r => r.GetProperty("type").GetString() == "auth.failure");
        Assert.Equal("invalid", failure.GetProperty("details").GetProperty("reason").GetString());
        Assert.NotEmpty(failure.GetProperty("details").GetProperty("credential_hmac").GetString()!);
        var rotations = await http.GetFromJsonAsync<JsonElement>("/api/v1/audit?type=signing_key.rotate");
        Assert.Equal("user:admin", rotations.GetProperty("items")[0].GetProperty("actor").GetString());

        var everything = await http.GetStringAsync("/api/v1/audit/export");
        foreach (var secret in new[] { key.Key, forged, hub.AdminKey, key.Key[21..], forged[21..] })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Query_filters_by_type_actor_and_time_and_pages_without_gaps()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var hub = await HubTestHost.StartAsync(time: clock);
        var principal = HubTestHost.UniqueUser("q");
        var key = await hub.CreateKeyAsync(principal, "auditor");
        var middle = clock.GetUtcNow().AddMinutes(30);
        for (var i = 0; i < 7; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(10));
            await hub.Client(key.Key).WhoAmIAsync();
        }

        clock.Advance(TimeSpan.FromMinutes(1));
        var until = Uri.EscapeDataString(clock.GetUtcNow().ToString("O"));
        clock.Advance(TimeSpan.FromMinutes(1)); // the paging requests below are recorded after 'until'
        var http = hub.Http(key.Key);
        var seen = new List<long>();
        string? next = null;
        do
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/audit?actor={principal}&type=auth.success&until={until}&limit=3" + (next is null ? "" : $"&after={next}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("seq").GetInt64()));
            next = page.TryGetProperty("next", out var n) ? n.GetString() : null;
        }
        while (next is not null);

        Assert.Equal(7, seen.Count);
        Assert.Equal(seen.Order(), seen);
        var since = await http.GetFromJsonAsync<JsonElement>($"/api/v1/audit?actor={principal}&since={Uri.EscapeDataString(middle.ToString("O"))}&until={until}");
        Assert.Equal(5, since.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Operator_cannot_read_the_audit_log()
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser("op"), "operator");

        foreach (var url in new[] { "/api/v1/audit", "/api/v1/audit/export", "/api/v1/audit/checkpoints/latest", "/api/v1/audit/proofs/inclusion?seq=1&size=1" })
        {
            await HttpAssert.ProblemAsync(await hub.Http(key.Key).GetAsync(url), HttpStatusCode.Forbidden);
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task When_the_audit_log_cannot_be_written_requests_fail_closed_and_change_nothing(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        var database = hub.Services.GetRequiredService<HubDatabase>();
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("ALTER TABLE audit_records RENAME TO audit_records_away");
        }

        var me = await hub.Http(hub.AdminKey).GetAsync("/api/v1/me");
        var problem = await HttpAssert.ProblemAsync(me, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("audit", problem.Detail, StringComparison.OrdinalIgnoreCase);

        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("ALTER TABLE audit_records_away RENAME TO audit_records");
            var keysBefore = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM api_keys");
            // A change whose own record cannot be written is rolled back with it.
            await connection.ExecuteAsync("CREATE TABLE audit_block (x INTEGER)");
            await connection.ExecuteAsync(db == Db.Sqlite
                ? "CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records WHEN NEW.type = 'key.create' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                : "CREATE FUNCTION audit_fail() RETURNS trigger AS $$ BEGIN IF NEW.type = 'key.create' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_fail();");
            var create = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/keys", """{"principal":"user:never","role":"auditor"}""");
            Assert.True(create.StatusCode is HttpStatusCode.ServiceUnavailable, $"got {(int)create.StatusCode}");
            Assert.Equal(keysBefore, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM api_keys"));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM principals WHERE id = 'user:never'"));
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Queued_records_are_written_in_order_and_a_flush_waits_for_them(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        await using var log = NewLog(store.Database);
        await using var connection = await store.Database.OpenAsync(CancellationToken.None);

        await log.FlushAsync(); // nothing queued: returns at once, writes nothing
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records"));

        for (var i = 0; i < 200; i++)
        {
            await log.QueueAsync(new AuditEvent("test.queued", "user:q", $"{i}", AuditOutcome.Success));
        }

        await log.AppendAsync(new AuditEvent("test.awaited", "user:q", "after", AuditOutcome.Success));
        await log.QueueAsync(new AuditEvent("test.queued", "user:q", "last", AuditOutcome.Success));
        await log.FlushAsync();

        var targets = (await connection.QueryAsync<string>("SELECT target FROM audit_records ORDER BY seq")).ToList();
        Assert.Equal([.. Enumerable.Range(0, 200).Select(i => $"{i}"), "after", "last"], targets);
        var result = await AuditSources.VerifyDatabaseAsync(connection, null, [], [], CancellationToken.None);
        Assert.True(result.Ok, result.ToString());
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Checkpoints_signed_by_two_instances_while_records_arrive_all_verify(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        await new SigningKeyStore(store.Database, store.Box, TimeProvider.System).RotateAsync(CancellationToken.None); // its record is the first
        // Two hub instances on one database, each with its own data directory (and so its own checkpoint file).
        var instances = new[] { store.Database, store.OpenAnother() }.Select((database, i) =>
        {
            var data = Path.Combine(store.DataDir, $"instance{i}");
            var log = NewLog(database);
            var checkpointer = new AuditCheckpointer(database, new SigningKeyStore(database, store.Box, TimeProvider.System), log,
                TimeProvider.System, Options.Create(new AuditOptions()), Options.Create(new HubOptions { Data = data }),
                NullLogger<AuditCheckpointer>.Instance);
            return (Log: log, Checkpointer: checkpointer, File: AuditCheckpointer.FilePath(data));
        }).ToList();

        var writing = Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await instances[writer % 2].Log.AppendAsync(new AuditEvent("test.append", $"user:w{writer}", $"{i}", AuditOutcome.Success));
            }
        })));
        var signed = await Task.WhenAll(instances.Select(instance => Task.Run(async () =>
        {
            var sizes = new List<long>();
            do
            {
                if (await instance.Checkpointer.CheckpointAsync(CancellationToken.None) is { } checkpoint)
                {
                    sizes.Add(checkpoint.Size);
                }
            }
            while (!writing.IsCompleted);

            return sizes;
        })));
        await writing;
        var last = await instances[0].Checkpointer.CheckpointAsync(CancellationToken.None);

        Assert.All(signed, sizes => Assert.Equal(sizes.Order(), sizes)); // each instance's checkpoints only grow
        await using var connection = await store.Database.OpenAsync(CancellationToken.None);
        var stored = (await connection.QueryAsync<(long Size, string Jws)>("SELECT size, jws FROM audit_checkpoints ORDER BY size")).ToList();
        Assert.Equal(1 + 400, stored[^1].Size); // the last covers every record, whichever instance signed it
        var files = instances.SelectMany(instance => AuditSources.ReadCheckpointFile(instance.File)).ToList();
        // A row for every checkpoint returned and none for one a newer checkpoint overtook (that one is only in a file).
        Assert.Equal(signed.Sum(sizes => sizes.Count) + (last is null ? 0 : 1), stored.Count);
        Assert.All(stored, row => Assert.Contains(row.Jws, files)); // each is in its instance's file before it is in the database
        var result = await AuditSources.VerifyDatabaseAsync(connection, null, files, null, CancellationToken.None);
        Assert.True(result.Ok, result.ToString());
        Assert.Equal(1 + 400, result.Records);
        foreach (var instance in instances)
        {
            instance.Checkpointer.Dispose();
            await instance.Log.DisposeAsync();
        }
    }

    private static AuditLog NewLog(HubDatabase database)
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        return new AuditLog(database, TimeProvider.System, new HubMetrics(meters), Options.Create(new AuditOptions()), NullLogger<AuditLog>.Instance);
    }
}
