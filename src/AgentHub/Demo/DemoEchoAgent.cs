using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Agents;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Policy;

namespace AgentHub.Demo;

/// <summary>
/// <c>serve --demo</c>: a built-in A2A echo agent at <c>/demo/echo</c>, registered as <c>echo</c> with an allow rule for the
/// bootstrap admin, so a first call through the hub needs no other program. The agent accepts only calls that carry a
/// valid hub JWT addressed to it — it trusts the hub, not the network — and answers a Message echoing the text.
/// </summary>
internal static partial class DemoEchoAgent
{
    public const string AgentId = "echo";

    public static WebApplication MapDemo(this WebApplication app)
    {
        if (!app.Configuration.GetValue<bool>("Demo:Enabled"))
        {
            return app;
        }

        // Anonymous at the HTTP layer on purpose: the handler checks the hub's JWT itself, as any agent behind the hub would.
        app.MapPost("/demo/echo", HandleAsync).AllowAnonymous().DisableRateLimiting().WithTags("Demo")
            .WithMetadata(new OwnAuthenticationMetadata());
        app.Lifetime.ApplicationStarted.Register(() => _ = RegisterAsync(app));
        return app;
    }

    private static async Task RegisterAsync(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentHub.Demo");
        try
        {
            var url = new Uri(app.Urls.First());
            var host = url.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : url.Host;
            var upstream = $"{url.Scheme}://{host}:{url.Port}/demo/echo";
            var card = JsonDocument.Parse($$"""
                {"name":"Echo (demo)","description":"Built-in demo agent: answers with the text it was sent.","version":"1.0.0",
                 "supportedInterfaces":[{"url":"{{upstream}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
                 "capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
                 "skills":[{"id":"echo","name":"Echo","description":"Answers with the text it was sent.","tags":["demo"]}]}
                """).RootElement;
            var (info, _) = CardValidator.Validate(card, upstreamGiven: false);
            var time = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
            var (keyId, _, hash) = ApiKeyFormat.Generate(); // the demo agent calls nobody: its key is never shown
            await app.Services.GetRequiredService<IAgentStore>().RegisterAsync(
                new NewAgent(AgentId, Encoding.UTF8.GetBytes(card.GetRawText()), info!, null, upstream, time, "demo"),
                new NewApiKey(keyId, AgentStore.PrincipalOf(AgentId), Roles.Agent, "demo agent", hash, time, "demo", null), CancellationToken.None);

            var policies = app.Services.GetRequiredService<PolicyStore>();
            var existing = await policies.ListAsync(Bootstrap.AdminPrincipal, AgentId, null, 10, CancellationToken.None);
            if (existing.Items.Count == 0)
            {
                await policies.CreateAsync(new NewPolicyRule(Bootstrap.AdminPrincipal, AgentId, ["*"], PolicyEffects.Allow,
                    "demo: the bootstrap admin may call the echo agent", time, "demo"), CancellationToken.None);
                await app.Services.GetRequiredService<PolicyEngine>().ReloadAfterChangeAsync(CancellationToken.None);
            }

            LogReady(logger, upstream);
        }
        catch (Exception e)
        {
            LogFailed(logger, e);
        }
    }

    internal static async Task HandleAsync(HttpContext context, SigningKeyStore keys, TimeProvider time)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !await IsHubTokenAsync(header[7..], keys, time, context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var request = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        var id = request?["id"]?.ToJsonString() ?? "null";
        var method = request?["method"]?.GetValue<string>();
        var text = string.Concat((request?["params"]?["message"]?["parts"] as JsonArray ?? [])
            .Select(p => p?["text"]?.GetValue<string>() ?? ""));
        var reply = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["messageId"] = Guid.NewGuid().ToString(),
                ["role"] = "ROLE_AGENT",
                ["parts"] = new JsonArray(new JsonObject { ["text"] = text }),
            },
        }.ToJsonString();
        switch (method)
        {
            case "SendMessage":
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{reply}}}");
                break;
            case "SendStreamingMessage":
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync($"data: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{reply}}}\n\n");
                break;
            default:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":-32004,\"message\":\"The demo echo agent only answers SendMessage and SendStreamingMessage.\"}}}}");
                break;
        }
    }

    /// <summary>An ES256 JWT from this hub (a key in its JWKS), addressed to the echo agent, not expired.</summary>
    private static async Task<bool> IsHubTokenAsync(string jwt, SigningKeyStore keys, TimeProvider time, CancellationToken ct)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        try
        {
            using var head = JsonDocument.Parse(CheckpointJws.FromBase64Url(parts[0]));
            using var body = JsonDocument.Parse(CheckpointJws.FromBase64Url(parts[1]));
            var kid = head.RootElement.GetProperty("kid").GetString();
            var jwk = (await keys.ListAsync(ct)).Select(k => k.PublicKey).FirstOrDefault(k => k.Kid == kid);
            if (jwk is null || head.RootElement.GetProperty("alg").GetString() != "ES256")
            {
                return false;
            }

            using var key = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = CheckpointJws.FromBase64Url(jwk.X), Y = CheckpointJws.FromBase64Url(jwk.Y) },
            });
            var claims = body.RootElement;
            return key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), CheckpointJws.FromBase64Url(parts[2]),
                       HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                   && claims.GetProperty("aud").GetString() == AgentId
                   && claims.GetProperty("exp").GetInt64() > time.GetUtcNow().ToUnixTimeSeconds();
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or CryptographicException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Demo: agent 'echo' is registered at {Upstream}; the bootstrap admin may call it")]
    private static partial void LogReady(ILogger logger, string upstream);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Demo: the echo agent could not be registered")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
