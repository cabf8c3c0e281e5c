using System.Net;
using System.Net.Http.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

public enum Caller
{
    None,
    Admin,
    Operator,
    Auditor,
}

/// <summary>Whose resource the request names: nobody's (<c>Any</c>), the caller's own, or another principal's.</summary>
public enum Target
{
    Any,
    Own,
    Other,
}

/// <summary>
/// Who may call what, from one table: every endpoint of the app × every kind of caller × own or another's resource.
/// Another principal's key answers 404 to a non-admin (existence is not leaked), a role too weak answers 403.
/// </summary>
public sealed class AuthorizationMatrixTests(AuthorizationMatrixTests.HubFixture fixture) : IClassFixture<AuthorizationMatrixTests.HubFixture>
{
    /// <summary>
    /// The table, in <c>authorization-matrix.json</c> beside this file: the security suite
    /// (<c>eng/security/checks/02_authorization_matrix.py</c>) replays the same rows against a Release build over HTTP.
    /// </summary>
    private static readonly (string Method, string Route, Caller Caller, Target Target, int Status)[] Table = LoadTable();

    private static (string Method, string Route, Caller Caller, Target Target, int Status)[] LoadTable()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Web", "authorization-matrix.json"));
        using var document = System.Text.Json.JsonDocument.Parse(file);
        return [.. document.RootElement.GetProperty("rows").EnumerateArray().Select(r => (
            r.GetProperty("method").GetString()!,
            r.GetProperty("route").GetString()!,
            Enum.Parse<Caller>(r.GetProperty("caller").GetString()!, ignoreCase: true),
            Enum.Parse<Target>(r.GetProperty("target").GetString()!, ignoreCase: true),
            r.GetProperty("status").GetInt32()))];
    }

    /// <summary>The table on both engines: ownership is enforced inside the stores' SQL.</summary>
    public static TheoryData<Db, string, string, Caller, Target, int> Matrix
    {
        get
        {
            var data = new TheoryData<Db, string, string, Caller, Target, int>();
            foreach (var db in Enum.GetValues<Db>())
            {
                foreach (var (method, route, caller, target, status) in Table)
                {
                    data.Add(db, method, route, caller, target, status);
                }
            }

            return data;
        }
    }

    [Fact]
    public void Table_covers_every_endpoint_of_the_app_for_every_caller()
    {
        var endpoints = HubEndpoints.All(fixture.Hub(Db.Sqlite).Services);
        var problems = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var pattern = HubEndpoints.Pattern(endpoint);
            foreach (var method in HubEndpoints.Methods(endpoint))
            {
                var rows = Table.Where(r => r.Route == pattern && (method == "*" || r.Method == method)).ToList();
                var missing = Enum.GetValues<Caller>().Where(c => rows.All(r => r.Caller != c)).ToList();
                if (missing.Count > 0)
                {
                    problems.Add($"{method} {pattern}: no row for {string.Join(", ", missing)}");
                }
            }
        }

        // A row for a route the app no longer has is a stale table: it would test nothing.
        foreach (var (method, route, _, _, _) in Table.DistinctBy(r => (r.Method, r.Route)))
        {
            if (!endpoints.Any(e => HubEndpoints.Pattern(e) == route && HubEndpoints.Methods(e).Any(m => m == "*" || m == method)))
            {
                problems.Add($"{method} {route}: in the table but not an endpoint of the app");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Endpoint_for_caller_and_owner_answers_expected_status(Db db, string method, string route, Caller caller, Target target, int status)
    {
        var hub = fixture.Hub(db);
        var callerPrincipal = HubTestHost.UniqueUser("caller");
        var otherPrincipal = HubTestHost.UniqueUser("other");
        var callerKey = caller == Caller.None ? null : await hub.CreateKeyAsync(callerPrincipal, caller.ToString().ToLowerInvariant());
        var ownKey = await hub.CreateKeyAsync(callerPrincipal, "auditor");
        var otherKey = await hub.CreateKeyAsync(otherPrincipal, "operator");
        var admin = hub.AdminClient();

        var url = route switch
        {
            "/api/v1/keys/{id}" => "/api/v1/keys/" + (target == Target.Own ? ownKey.Id : otherKey.Id),
            "/api/v1/principals/{id}" => "/api/v1/principals/" + Uri.EscapeDataString(target == Target.Own ? callerPrincipal : otherPrincipal),
            "/api/v1/keys" when method == "GET" && target == Target.Other => "/api/v1/keys?limit=200&principal=" + Uri.EscapeDataString(otherPrincipal),
            "/api/v1/keys" when method == "GET" => "/api/v1/keys?limit=200",
            "/api/v1/audit/proofs/inclusion" => route + "?seq=1&size=1",
            "/api/v1/agents/{id}" when method == "DELETE" => "/api/v1/agents/" + await fixture.NewAgentAsync(db),
            "/api/v1/agents/{id}/keys" when method == "PUT" => "/api/v1/agents/" + await fixture.NewAgentAsync(db) + "/keys",
            "/api/v1/agents/{id}" or "/api/v1/agents/{id}/versions" or "/api/v1/agents/{id}/card" or "/api/v1/agents/{id}/keys" or "/a2a/{id}/.well-known/agent-card.json" or "/a2a/{id}"
                => route.Replace("{id}", HubFixture.AgentId, StringComparison.Ordinal),
            "/api/v1/policies/{id}" when method == "DELETE" => "/api/v1/policies/" + await fixture.NewPolicyAsync(db),
            "/api/v1/policies/{id}" => "/api/v1/policies/" + fixture.PolicyId(db),
            "/api/v1/audit/proofs/consistency" => route + "?from=1&to=1",
            _ => route,
        };
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST" && route == "/api/v1/keys")
        {
            request.Content = JsonContent.Create(new { principal = HubTestHost.UniqueUser("new"), role = "auditor" });
        }

        if (method == "POST" && route == "/api/v1/agents")
        {
            request.Content = JsonContent.Create(new RegisterAgentRequest(HubFixture.NewAgentId(), Card: HubFixture.Card));
        }

        if (method == "PUT" && route == "/api/v1/agents/{id}/keys")
        {
            request.Content = JsonContent.Create(new SetAgentKeysRequest(RequireSignature: false));
        }

        if (method == "POST" && route == "/api/v1/policies")
        {
            request.Content = JsonContent.Create(new CreatePolicyRequest("user:someone", "echo", ["SendMessage"], "allow"));
        }

        if (route == "/a2a/{id}")
        {
            request.Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}""", System.Text.Encoding.UTF8, "application/json");
            request.Headers.TryAddWithoutValidation("A2A-Version", "1.0");
        }

        if (method == "POST" && route == "/api/v1/policies/explain")
        {
            request.Content = JsonContent.Create(new ExplainPolicyRequest("user:someone", "echo", "SendMessage"));
        }

        using var response = await hub.Http(callerKey?.Key).SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{method} {url} as {caller}: expected {status}, got {(int)response.StatusCode}: {body}");
        if (status >= 400 && route == "/a2a/{id}" && status != 401)
        {
            // The relay answers JSON-RPC errors, not problem details.
            Assert.Contains("\"no rule allows ", body, StringComparison.Ordinal);
        }
        else if (status >= 400)
        {
            await WebAssert.CleanProblemAsync(response, (HttpStatusCode)status);
        }

        if (status == 401)
        {
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        switch (method, route, status)
        {
            case ("POST", "/api/v1/keys", 201):
                var created = await response.Content.ReadFromJsonAsync<CreatedKey>();
                TestArtifacts.Secret(created!.Key);
                break;
            case ("POST", "/api/v1/agents", 201):
                var registered = await response.Content.ReadFromJsonAsync<RegisteredAgent>();
                TestArtifacts.Secret(registered!.Key!.Key);
                break;
            case ("GET", "/api/v1/keys", 200):
                var page = await response.Content.ReadFromJsonAsync<Page<ApiKeyInfo>>();
                var expectedOwner = caller == Caller.Admin && target == Target.Other ? otherPrincipal : callerPrincipal;
                if (caller == Caller.Admin && target == Target.Own)
                {
                    Assert.Contains(page!.Items, k => k.Principal != callerPrincipal); // an admin's unfiltered list is everyone's
                }
                else
                {
                    Assert.All(page!.Items, k => Assert.Equal(expectedOwner, k.Principal));
                    Assert.Contains(page.Items, k => k.Id == (expectedOwner == otherPrincipal ? otherKey.Id : ownKey.Id));
                }

                break;
            case ("GET", "/api/v1/keys/{id}", 200):
                var key = await response.Content.ReadFromJsonAsync<ApiKeyInfo>();
                Assert.Equal(target == Target.Own ? ownKey.Id : otherKey.Id, key!.Id);
                break;
            case ("DELETE", "/api/v1/keys/{id}", _):
                // Only a 204 revokes; a refusal leaves the key as it was.
                var after = await admin.GetKeyAsync(target == Target.Own ? ownKey.Id : otherKey.Id);
                Assert.Equal(status != 204, after.Active);
                break;
            case ("GET", "/api/v1/me", 200):
                var me = await response.Content.ReadFromJsonAsync<WhoAmI>();
                Assert.Equal(callerPrincipal, me!.Principal);
                break;
        }
    }

    public sealed class HubFixture : IAsyncLifetime
    {
        // Rate limits are not under test here; a table this long must not run into them.
        private static readonly Dictionary<string, string?> Unlimited = new()
        {
            ["Limits:PrincipalBurst"] = "100000",
            ["Limits:PrincipalRequestsPerSecond"] = "100000",
            ["Limits:AddressBurst"] = "100000",
            ["Limits:AddressRequestsPerSecond"] = "100000",
        };

        public const string AgentId = "matrix-echo";

        private readonly Dictionary<Db, HubTestHost> _hubs = [];
        private readonly Dictionary<Db, string> _policies = [];

        /// <summary>A valid A2A v1.0 card whose upstream is never called by these tests.</summary>
        public static System.Text.Json.JsonElement Card { get; } = System.Text.Json.JsonDocument.Parse("""
            {"name":"Echo","description":"Echoes","version":"1.0.0",
             "supportedInterfaces":[{"url":"http://127.0.0.1:9/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
             "skills":[{"id":"echo","name":"Echo","description":"Echoes text","tags":["demo"]}]}
            """).RootElement;

        public HubTestHost Hub(Db db) => _hubs[db];

        public string PolicyId(Db db) => _policies[db];

        public static string NewAgentId() => "m-" + Guid.NewGuid().ToString("N")[..12];

        public async Task<string> NewAgentAsync(Db db)
        {
            var id = NewAgentId();
            var registered = await Hub(db).AdminClient().RegisterAgentAsync(new RegisterAgentRequest(id, Card: Card));
            TestArtifacts.Secret(registered.Key!.Key);
            return id;
        }

        public async Task<string> NewPolicyAsync(Db db) =>
            (await Hub(db).AdminClient().CreatePolicyAsync(new CreatePolicyRequest("user:someone", "echo", ["*"], "deny"))).Id;

        public async Task InitializeAsync()
        {
            var settings = new Dictionary<string, string?>(Unlimited) { ["Agents:AllowPrivateNetworks"] = "true" };
            foreach (var db in Enum.GetValues<Db>())
            {
                _hubs[db] = await HubTestHost.StartAsync(db, settings);
                var registered = await _hubs[db].AdminClient().RegisterAgentAsync(new RegisterAgentRequest(AgentId, Card: Card));
                TestArtifacts.Secret(registered.Key!.Key);
                _policies[db] = await NewPolicyAsync(db);
            }
        }

        public async Task DisposeAsync()
        {
            foreach (var hub in _hubs.Values)
            {
                await hub.DisposeAsync();
            }
        }
    }
}
