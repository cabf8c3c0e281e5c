using System.Buffers;
using System.Text;
using System.Text.Json;

// A minimal A2A v1.0 agent over JSON-RPC for the benchmarks: `SendMessage` answers a completed Task of about 1 KB,
// `SendStreamingMessage` answers the events Task, status (working), artifact, status (completed). Every answer is
// built from pre-encoded bytes around the request's id and a fresh task id, so the agent costs next to nothing.
//
//   AgentHub.BenchAgent --urls http://127.0.0.1:9100
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var taskCounter = 0L;
var cardJson = "";
app.Lifetime.ApplicationStarted.Register(() => cardJson = Answers.Card(app.Urls.First()));
app.MapGet("/.well-known/agent-card.json", () => Results.Text(cardJson, "application/json"));
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapPost("/", async context =>
{
    var request = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
    while (!request.IsCompleted)
    {
        context.Request.BodyReader.AdvanceTo(request.Buffer.Start, request.Buffer.End);
        request = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
    }

    var (id, method) = Answers.IdAndMethod(request.Buffer);
    context.Request.BodyReader.AdvanceTo(request.Buffer.End);
    var task = Interlocked.Increment(ref taskCounter).ToString(System.Globalization.CultureInfo.InvariantCulture);
    var response = context.Response;
    if (method == "SendStreamingMessage")
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        foreach (var part in Answers.Events)
        {
            await response.BodyWriter.WriteAsync(Answers.Event(part, id, task), context.RequestAborted);
            await response.BodyWriter.FlushAsync(context.RequestAborted);
        }

        return;
    }

    response.ContentType = "application/json";
    var body = method == "SendMessage" ? Answers.Task(id, task) : Answers.MethodNotFound(id);
    response.ContentLength = body.Length;
    await response.BodyWriter.WriteAsync(body, context.RequestAborted);
});
app.Run();

internal static class Answers
{
    private const string TaskMiddle = ""","result":{"task":{"id":"task-bench-""";

    private static readonly string TaskEnd =
        "\",\"contextId\":\"ctx-bench\",\"status\":{\"state\":\"TASK_STATE_COMPLETED\",\"timestamp\":\"2026-01-01T00:00:00Z\"},"
        + "\"artifacts\":[{\"artifactId\":\"a1\",\"name\":\"answer\",\"parts\":[{\"text\":\"" + new string('x', 760) + "\"}]}]}}}";

    public static readonly string[] Events =
    [
        """{"task":{"id":"task-bench-{task}","contextId":"ctx-bench","status":{"state":"TASK_STATE_WORKING"}}}""",
        """{"statusUpdate":{"taskId":"task-bench-{task}","contextId":"ctx-bench","status":{"state":"TASK_STATE_WORKING"}}}""",
        """{"artifactUpdate":{"taskId":"task-bench-{task}","contextId":"ctx-bench","artifact":{"artifactId":"a1","parts":[{"text":"benchmark answer"}]},"lastChunk":true}}""",
        """{"statusUpdate":{"taskId":"task-bench-{task}","contextId":"ctx-bench","status":{"state":"TASK_STATE_COMPLETED"},"final":true}}""",
    ];

    public static string Card(string url) => $$"""
        {"name":"Bench agent","description":"Answers every SendMessage with a fixed completed task.","version":"1.0.0",
         "supportedInterfaces":[{"url":"{{url}}/","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
         "capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
         "skills":[{"id":"bench","name":"Bench","description":"Fixed answers for benchmarks.","tags":["bench"]}]}
        """;

    public static byte[] Task(string id, string task) => Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + TaskMiddle + task + TaskEnd);

    public static byte[] Event(string result, string id, string task) => Encoding.UTF8.GetBytes(
        "data: {\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + result.Replace("{task}", task, StringComparison.Ordinal) + "}\n\n");

    public static byte[] MethodNotFound(string id) => Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ""","error":{"code":-32601,"message":"Method not found"}}""");

    /// <summary>The request's id as raw JSON and its method; a body that is not JSON-RPC gets id null.</summary>
    public static (string Id, string? Method) IdAndMethod(ReadOnlySequence<byte> body)
    {
        var id = "null";
        string? method = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (id, method);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueTextEquals("id") ? 1 : reader.ValueTextEquals("method") ? 2 : 0;
                reader.Read();
                if (name == 1)
                {
                    id = reader.TokenType == JsonTokenType.String ? JsonSerializer.Serialize(reader.GetString()) : Encoding.UTF8.GetString(reader.ValueSpan);
                }
                else if (name == 2)
                {
                    method = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
        }

        return (id, method);
    }
}
