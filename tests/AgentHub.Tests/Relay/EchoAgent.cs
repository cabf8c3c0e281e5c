using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentHub.Tests.Relay;

/// <summary>
/// A small A2A v1.0 agent on a real Kestrel socket (loopback): SendMessage answers a completed Task that echoes the
/// text, SendStreamingMessage streams Task → status → artifact → completed, GetTask/ListTasks/CancelTask work on the
/// tasks it made. It records the headers of every call so tests can see what the hub forwarded. Method "garble" and a
/// message text "garble" make it answer something that is not JSON-RPC.
/// </summary>
public sealed class EchoAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _tasks = new();

    private EchoAgent(WebApplication app) => _app = app;

    public ConcurrentQueue<IHeaderDictionary> Requests { get; } = new();

    /// <summary>Every request as received, body included, for checking the hub's signature on it.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>Set when a call with the text "hold" arrives; that call waits for <see cref="Release"/>.</summary>
    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a held call was canceled from the hub's side (the caller went away, or a timeout).</summary>
    public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri Url => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/a2a");

    public static async Task<EchoAgent> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var agent = new EchoAgent(app);
        app.MapPost("/a2a", agent.HandleAsync);
        await app.StartAsync();
        return agent;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var headers = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        Requests.Enqueue(headers);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        Received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Host.Value!, context.Request.Path + context.Request.QueryString, headers, buffer.ToArray()));
        var request = JsonNode.Parse(buffer.ToArray())!.AsObject();
        var id = request["id"]!.ToJsonString();
        var p = request["params"] as JsonObject ?? [];
        var text = p["message"]?["parts"]?[0]?["text"]?.GetValue<string>() ?? "";
        if (text == "hold")
        {
            Held.TrySetResult();
            try
            {
                await Release.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Aborted.TrySetResult();
                throw;
            }
        }

        if (text == "huge")
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"message\":{{\"messageId\":\"x\",\"role\":\"ROLE_AGENT\",\"parts\":[{{\"text\":\"{new string('x', 100_000)}\"}}]}}}}}}");
            return;
        }

        if (text == "garble")
        {
            await context.Response.WriteAsync("<html>oops</html>");
            return;
        }

        switch (request["method"]!.GetValue<string>())
        {
            case "SendMessage":
                await Result(context, id, new JsonObject { ["task"] = NewTask(text, "TASK_STATE_COMPLETED") });
                break;
            case "SendStreamingMessage":
                context.Response.ContentType = "text/event-stream";
                var task = NewTask(text, "TASK_STATE_SUBMITTED");
                var taskId = task["id"]!.GetValue<string>();
                foreach (var result in new JsonObject[]
                {
                    new() { ["task"] = task },
                    new() { ["statusUpdate"] = new JsonObject { ["taskId"] = taskId, ["status"] = new JsonObject { ["state"] = "TASK_STATE_WORKING" } } },
                    new() { ["artifactUpdate"] = new JsonObject { ["taskId"] = taskId, ["artifact"] = new JsonObject { ["artifactId"] = "a1", ["parts"] = new JsonArray(new JsonObject { ["text"] = text }) } } },
                    new() { ["statusUpdate"] = new JsonObject { ["taskId"] = taskId, ["status"] = new JsonObject { ["state"] = "TASK_STATE_COMPLETED" } } },
                })
                {
                    await context.Response.WriteAsync($"data: {{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result.ToJsonString()}}}\n\n");
                    await context.Response.Body.FlushAsync();
                }

                break;
            case "GetTask":
                await (_tasks.TryGetValue(p["id"]!.GetValue<string>(), out var found)
                    ? Result(context, id, found.DeepClone())
                    : Error(context, id, -32001, "Task not found"));
                break;
            case "CancelTask":
                if (_tasks.TryGetValue(p["id"]!.GetValue<string>(), out var cancel))
                {
                    cancel["status"] = new JsonObject { ["state"] = "TASK_STATE_CANCELED" };
                    await Result(context, id, cancel.DeepClone());
                }
                else
                {
                    await Error(context, id, -32001, "Task not found");
                }

                break;
            case "ListTasks":
                var all = new JsonArray(_tasks.Values.Select(t => (JsonNode)t.DeepClone()).ToArray());
                await Result(context, id, new JsonObject { ["tasks"] = all, ["totalSize"] = all.Count, ["pageSize"] = 50, ["nextPageToken"] = "" });
                break;
            default:
                await Error(context, id, -32004, "Unsupported");
                break;
        }
    }

    private JsonObject NewTask(string text, string state)
    {
        var task = new JsonObject
        {
            ["id"] = "t-" + Guid.NewGuid().ToString("N")[..12],
            ["contextId"] = "c-1",
            ["status"] = new JsonObject { ["state"] = state },
            ["artifacts"] = new JsonArray(new JsonObject { ["artifactId"] = "a1", ["parts"] = new JsonArray(new JsonObject { ["text"] = text }) }),
        };
        _tasks[task["id"]!.GetValue<string>()] = task;
        return (JsonObject)task.DeepClone();
    }

    private static Task Result(HttpContext context, string id, JsonNode result)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result.ToJsonString()}}}", Encoding.UTF8);
    }

    private static Task Error(HttpContext context, string id, int code, string message)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{{\"code\":{code},\"message\":{JsonSerializer.Serialize(message)}}}}}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record ReceivedRequest(string Method, string Authority, string Target, IHeaderDictionary Headers, byte[] Body);
