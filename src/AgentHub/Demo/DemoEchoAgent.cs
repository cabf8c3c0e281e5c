using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Agents;
using AgentHub.Audit;
using AgentHub.Client.Signatures;
using AgentHub.Identity;
using AgentHub.Policy;
using AgentHub.Signatures;

namespace AgentHub.Demo;

/// <summary>
/// <c>serve --demo</c>: a built-in A2A echo agent at <c>/demo/echo</c>, registered as <c>echo</c> with an allow rule for the
/// bootstrap admin, so a first call through the hub needs no other program. The agent accepts only calls forwarded by
/// the hub — a valid hub JWT addressed to it, the hub's RFC 9421 signature and a matching Content-Digest, checked with
/// the client SDK as any agent behind the hub would — and answers a Message echoing the text.
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
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        if (!await IsFromHubAsync(context, buffer.ToArray(), keys, time, context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        buffer.Position = 0;
        var request = await JsonNode.ParseAsync(buffer, cancellationToken: context.RequestAborted) as JsonObject;
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

    /// <summary>The hub's JWT addressed to the echo agent, the hub's signature over the request, and the body's digest all check out.</summary>
    private static async Task<bool> IsFromHubAsync(HttpContext context, byte[] body, SigningKeyStore keys, TimeProvider time, CancellationToken ct)
    {
        var published = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        try
        {
            foreach (var info in await keys.ListAsync(ct))
            {
                published[info.Kid] = ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = CheckpointJws.FromBase64Url(info.PublicKey.X), Y = CheckpointJws.FromBase64Url(info.PublicKey.Y) },
                });
            }

            var request = InboundSignatures.Describe(context);
            var authorization = request.Header("authorization") ?? "";
            var token = HubTokenValidator.Validate(authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization[7..] : null,
                kid => published.GetValueOrDefault(kid), AgentId, time, TimeSpan.FromSeconds(5));
            var signature = HttpMessageVerifier.Verify(request, request.Header("signature-input"), request.Header("signature"),
                new VerifyOptions { RequiredComponents = HubRequestVerifierOptions.DefaultRequiredComponents, TimeProvider = time },
                kid => published.GetValueOrDefault(kid) is { } key ? SignatureKey.Ecdsa(kid, key) : null);
            return token.Success && signature.Success && ContentDigest.Verify(request.Header("content-digest"), body).Success;
        }
        finally
        {
            foreach (var key in published.Values)
            {
                key.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Demo: agent 'echo' is registered at {Upstream}; the bootstrap admin may call it")]
    private static partial void LogReady(ILogger logger, string upstream);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Error, Message = "Demo: the echo agent could not be registered")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
