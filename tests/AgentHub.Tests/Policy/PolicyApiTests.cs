using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Policy;
using AgentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CreatePolicyRequest = AgentHub.Client.CreatePolicyRequest;
using ExplainPolicyRequest = AgentHub.Client.ExplainPolicyRequest;

namespace AgentHub.Tests.Policy;

public sealed class PolicyApiTests
{
    // One poll plus the time to read and compile the rules, with room for a loaded test machine.
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task Created_rule_is_returned_listed_applied_at_once_and_deleted()
    {
        await using var hub = await HubTestHost.StartAsync();
        var engine = hub.Services.GetRequiredService<PolicyEngine>();
        var client = hub.AdminClient();
        Assert.False(engine.Decide("agent:planner", "agent", "echo", "SendMessage").Allowed);

        var response = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/policies",
            """{"caller":"agent:planner","agent":"echo","methods":["SendMessage","GetTask","SendMessage"],"effect":"allow","description":"planner talks to echo"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var rule = (await response.Content.ReadFromJsonAsync<PolicyRuleInfo>())!;
        Assert.Equal($"/api/v1/policies/{rule.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal(("agent:planner", "echo", "allow", "planner talks to echo", "user:admin"), (rule.Caller, rule.Agent, rule.Effect, rule.Description, rule.CreatedBy));
        Assert.Equal(["GetTask", "SendMessage"], rule.Methods);
        Assert.True(engine.Decide("agent:planner", "agent", "echo", "SendMessage").Allowed); // no waiting: this instance applies it at once
        Assert.Equivalent(rule, await client.GetPolicyAsync(rule.Id), strict: true);
        Assert.Equal([rule.Id], (await client.ListPoliciesAsync(caller: "agent:planner")).Items.Select(r => r.Id));
        Assert.Empty((await client.ListPoliciesAsync(agent: "other")).Items);

        await client.DeletePolicyAsync(rule.Id);

        Assert.False(engine.Decide("agent:planner", "agent", "echo", "SendMessage").Allowed);
        await HttpAssert.ProblemAsync(await hub.Http(hub.AdminKey).GetAsync($"/api/v1/policies/{rule.Id}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await hub.Http(hub.AdminKey).DeleteAsync($"/api/v1/policies/{rule.Id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Rules_created_concurrently_each_apply_before_their_answer()
    {
        // Concurrent changes share reloads; none of them may answer before its own rule is in force.
        await using var hub = await HubTestHost.StartAsync();
        var engine = hub.Services.GetRequiredService<PolicyEngine>();
        var http = hub.Http(hub.AdminKey);

        var applied = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            var response = await http.PostJsonAsync("/api/v1/policies",
                $$"""{"caller":"agent:worker-{{i}}","agent":"echo","methods":["SendMessage"],"effect":"allow"}""");
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return engine.Decide($"agent:worker-{i}", "agent", "echo", "SendMessage").Allowed;
        }));

        Assert.All(applied, Assert.True);
        Assert.Equal(32, engine.Current.Count);
    }

    [Fact]
    public async Task Explain_answers_no_rule_then_allowed_then_denied_with_the_deciding_rule()
    {
        await using var hub = await HubTestHost.StartAsync();
        var client = hub.AdminClient();
        var question = new ExplainPolicyRequest("agent:planner", "echo", "SendMessage");

        var none = await client.ExplainPolicyAsync(question);
        Assert.Equal(("deny", null, "no rule allows agent:planner to call echo.SendMessage"), (none.Decision, none.Rule, none.Reason));

        var allow = await client.CreatePolicyAsync(new CreatePolicyRequest("agent:planner", "echo", ["*"], "allow"));
        var allowed = await client.ExplainPolicyAsync(question);
        Assert.Equal(("allow", $"allowed by rule {allow.Id}"), (allowed.Decision, allowed.Reason));
        Assert.Equivalent(allow, allowed.Rule, strict: true);

        var deny = await client.CreatePolicyAsync(new CreatePolicyRequest("*", "*", ["SendMessage"], "deny", "freeze"));
        var denied = await client.ExplainPolicyAsync(question);
        Assert.Equal(("deny", $"denied by rule {deny.Id}"), (denied.Decision, denied.Reason));
        Assert.Equivalent(deny, denied.Rule, strict: true);
        Assert.Equal("allow", (await client.ExplainPolicyAsync(question with { Method = "GetTask" })).Decision);
        Assert.True(denied.PolicyVersion > none.PolicyVersion);

        // The wire form names "rule": null explicitly when no rule decided.
        var raw = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/policies/explain", """{"caller":"user:bob","agent":"echo","method":"GetTask"}""");
        var json = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Null, json.GetProperty("rule").ValueKind);
        Assert.Equal("no rule allows user:bob to call echo.GetTask", json.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Explain_applies_role_rules_only_when_the_role_is_given()
    {
        await using var hub = await HubTestHost.StartAsync();
        var client = hub.AdminClient();
        var rule = await client.CreatePolicyAsync(new CreatePolicyRequest("role:operator", "echo", ["GetTask"], "allow"));

        Assert.Equal(rule.Id, (await client.ExplainPolicyAsync(new ExplainPolicyRequest("user:alice", "echo", "GetTask", "operator"))).Rule?.Id);
        Assert.Equal("deny", (await client.ExplainPolicyAsync(new ExplainPolicyRequest("user:alice", "echo", "GetTask", "auditor"))).Decision);
        Assert.Equal("deny", (await client.ExplainPolicyAsync(new ExplainPolicyRequest("user:alice", "echo", "GetTask"))).Decision);
    }

    [Fact]
    public async Task Create_with_every_field_wrong_names_every_field()
    {
        await using var hub = await HubTestHost.StartAsync();

        var response = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/policies",
            $$"""{"caller":"planner","agent":"Echo!","methods":["SendMessage","SendMesage","Bogus"],"effect":"maybe","description":"{{new string('x', 501)}}"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["agent", "caller", "description", "effect", "methods"], problem.Errors!.Keys.Order(StringComparer.Ordinal));
        var methods = string.Join(" ", problem.Errors["methods"]);
        Assert.Contains("'SendMesage' is not an A2A v1.0 method", methods, StringComparison.Ordinal);
        Assert.Contains("'Bogus' is not an A2A v1.0 method", methods, StringComparison.Ordinal);
        Assert.DoesNotContain("'SendMessage'", methods, StringComparison.Ordinal);
        Assert.Empty((await hub.AdminClient().ListPoliciesAsync()).Items);
    }

    [Theory]
    [InlineData("""{"agent":"echo","methods":["*"],"effect":"allow"}""", "caller")]
    [InlineData("""{"caller":"role:root","agent":"echo","methods":["*"],"effect":"allow"}""", "caller")]
    [InlineData("""{"caller":"*","methods":["*"],"effect":"allow"}""", "agent")]
    [InlineData("""{"caller":"*","agent":"echo","methods":[],"effect":"allow"}""", "methods")]
    [InlineData("""{"caller":"*","agent":"echo","methods":["*","GetTask"],"effect":"allow"}""", "methods")]
    [InlineData("""{"caller":"*","agent":"echo","methods":["*"]}""", "effect")]
    public async Task Create_with_one_bad_field_names_only_that_field(string body, string field)
    {
        await using var hub = await HubTestHost.StartAsync();

        var problem = await HttpAssert.ProblemAsync(await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/policies", body), HttpStatusCode.BadRequest);

        Assert.Equal([field], problem.Errors!.Keys);
    }

    [Fact]
    public async Task Explain_with_bad_input_names_every_bad_field()
    {
        await using var hub = await HubTestHost.StartAsync();

        var response = await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/policies/explain",
            """{"caller":"*","agent":"*","method":"SendMesage","role":"root"}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["agent", "caller", "method", "role"], problem.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("'SendMesage' is not an A2A v1.0 method", problem.Errors["method"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("operator", HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.OK)]
    [InlineData("auditor", HttpStatusCode.Forbidden, HttpStatusCode.OK, HttpStatusCode.OK)]
    public async Task Operators_change_rules_auditors_only_read_and_explain(string role, HttpStatusCode create, HttpStatusCode list, HttpStatusCode explain)
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = (await hub.CreateKeyAsync(HubTestHost.UniqueUser(role), role)).Key;
        var existing = await hub.AdminClient().CreatePolicyAsync(new CreatePolicyRequest("*", "echo", ["GetTask"], "allow"));
        using var http = hub.Http(key);

        Assert.Equal(create, (await http.PostJsonAsync("/api/v1/policies", """{"caller":"*","agent":"echo","methods":["*"],"effect":"deny"}""")).StatusCode);
        Assert.Equal(list, (await http.GetAsync("/api/v1/policies")).StatusCode);
        Assert.Equal(list, (await http.GetAsync($"/api/v1/policies/{existing.Id}")).StatusCode);
        Assert.Equal(explain, (await http.PostJsonAsync("/api/v1/policies/explain", """{"caller":"user:x","agent":"echo","method":"GetTask"}""")).StatusCode);
        Assert.Equal(create == HttpStatusCode.Created ? HttpStatusCode.NoContent : HttpStatusCode.Forbidden,
            (await http.DeleteAsync($"/api/v1/policies/{existing.Id}")).StatusCode);
    }

    [Fact]
    public async Task Without_a_key_every_policy_endpoint_answers_401()
    {
        await using var hub = await HubTestHost.StartAsync();
        using var http = hub.Http();

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/policies")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/policies/pol_x")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.DeleteAsync("/api/v1/policies/pol_x")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostJsonAsync("/api/v1/policies", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostJsonAsync("/api/v1/policies/explain", "{}")).StatusCode);
    }

    [Fact]
    public async Task A_rule_changed_through_one_instance_applies_on_another_within_the_refresh_interval()
    {
        var interval = TimeSpan.FromMilliseconds(200);
        var database = await Postgres.CreateDatabaseAsync();
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(masterKey);
        var settings = new Dictionary<string, string?>
        {
            ["Database"] = database,
            ["MasterKey"] = masterKey,
            ["Policy:RefreshInterval"] = interval.ToString(),
        };
        await using var first = await HubTestHost.StartAsync(Db.Postgres, settings);
        // The second instance is the same app built beside it (HubTestHost expects to bootstrap its own admin key).
        using var secondData = new TempDirectory();
        await using var second = HubApp.Build(new Dictionary<string, string?>(settings) { ["Data"] = secondData.Path }, configure: builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new CapturingLoggerProvider());
        });
        await HubApp.InitializeAsync(second, CancellationToken.None);
        await second.StartAsync();
        var secondHttp = second.GetTestServer().CreateClient();
        secondHttp.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", first.AdminKey);
        var secondClient = new AgentHubClient(secondHttp);
        var firstEngine = first.Services.GetRequiredService<PolicyEngine>();
        var secondEngine = second.Services.GetRequiredService<PolicyEngine>();
        Assert.False(secondEngine.Decide("agent:planner", null, "echo", "SendMessage").Allowed);

        var rule = await first.AdminClient().CreatePolicyAsync(new CreatePolicyRequest("agent:planner", "echo", ["SendMessage"], "allow"));
        var applied = await WaitAsync(() => secondEngine.Decide("agent:planner", null, "echo", "SendMessage").Allowed);

        Assert.True(applied <= interval + Slack, $"applied after {applied.TotalMilliseconds} ms; refresh interval {interval.TotalMilliseconds} ms");
        Assert.Equal(rule.Id, secondEngine.Decide("agent:planner", null, "echo", "SendMessage").Rule?.Id);

        await secondClient.DeletePolicyAsync(rule.Id);
        Assert.False(secondEngine.Decide("agent:planner", null, "echo", "SendMessage").Allowed);
        var removed = await WaitAsync(() => !firstEngine.Decide("agent:planner", null, "echo", "SendMessage").Allowed);
        Assert.True(removed <= interval + Slack, $"removed after {removed.TotalMilliseconds} ms; refresh interval {interval.TotalMilliseconds} ms");
        await second.StopAsync();
    }

    /// <summary>Waits for the condition (deadline 10 s) and returns how long it took.</summary>
    private static async Task<TimeSpan> WaitAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "the condition did not hold within 10 s");
            await Task.Delay(5);
        }

        return watch.Elapsed;
    }
}
