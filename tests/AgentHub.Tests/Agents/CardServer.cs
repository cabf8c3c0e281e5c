using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentHub.Tests.Agents;

/// <summary>
/// A real HTTP server on 127.0.0.1:0 standing in for an agent: it serves a card at <c>/card</c> (the bytes exactly as
/// set), answers anything else with 200 (an upstream that is up), and counts every request it receives.
/// </summary>
internal sealed class CardServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _hits;

    private CardServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public int Port => Url.Port;

    public int Hits => Volatile.Read(ref _hits);

    /// <summary>The body of <c>/card</c>.</summary>
    public string Card { get; set; } = "{}";

    public string CardContentType { get; set; } = "application/json";

    /// <summary>When set, <c>/card</c> answers 302 to this location.</summary>
    public string? RedirectTo { get; set; }

    public string CardUrl => new Uri(Url, "/card").ToString();

    public static async Task<CardServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new CardServer(app);
        app.Run(async context =>
        {
            Interlocked.Increment(ref server._hits);
            if (context.Request.Path == "/card")
            {
                if (server.RedirectTo is { } location)
                {
                    context.Response.StatusCode = StatusCodes.Status302Found;
                    context.Response.Headers.Location = location;
                    return;
                }

                context.Response.ContentType = server.CardContentType;
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(server.Card));
                return;
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
        });
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A2A v1.0 Agent Cards for the tests.</summary>
internal static class Cards
{
    /// <summary>A valid card, with odd spacing and an unknown extension member that must survive byte for byte.</summary>
    public static string Valid(string upstream, string name = "Echo", string version = "1.0.0",
        string skillId = "echo", string tag = "Utility", string skillDescription = "Repeats the message") => $$"""
        {"name": "{{name}}",  "description":"Echoes what it is sent","version":"{{version}}",
         "supportedInterfaces":[{"url":"{{upstream}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
         "provider":{"url":"https://example.com","organization":"Example"},
         "capabilities":{"streaming":true},
         "defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
         "x-vendor-extension":{"nested":[1,2.50,"\u00e9"]},
         "skills":[{"id":"{{skillId}}","name":"{{name}} skill","description":"{{skillDescription}}","tags":["{{tag}}","demo"]}]}
        """;
}
