using System.Text.Json;

namespace AgentHub.Relay;

/// <summary>JSON-RPC 2.0 and A2A v1.0 error codes.</summary>
internal static class RpcCodes
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int Internal = -32603;
    public const int TaskNotFound = -32001;
    public const int InvalidAgentResponse = -32006;
    public const int VersionNotSupported = -32009;

    /// <summary>Hub-defined (JSON-RPC's server range): the caller may not make this call (policy) or is not known.</summary>
    public const int Forbidden = -32000;
}

/// <summary>The A2A v1.0 JSON-RPC methods the relay carries.</summary>
internal static class A2AMethods
{
    public const string SendMessage = "SendMessage";
    public const string SendStreamingMessage = "SendStreamingMessage";
    public const string GetTask = "GetTask";
    public const string ListTasks = "ListTasks";
    public const string CancelTask = "CancelTask";
    public const string SubscribeToTask = "SubscribeToTask";
    public const string CreatePushConfig = "CreateTaskPushNotificationConfig";
    public const string GetPushConfig = "GetTaskPushNotificationConfig";
    public const string ListPushConfigs = "ListTaskPushNotificationConfigs";
    public const string DeletePushConfig = "DeleteTaskPushNotificationConfig";
    public const string GetExtendedAgentCard = "GetExtendedAgentCard";

    public static readonly HashSet<string> All =
    [
        SendMessage, SendStreamingMessage, GetTask, ListTasks, CancelTask, SubscribeToTask,
        CreatePushConfig, GetPushConfig, ListPushConfigs, DeletePushConfig, GetExtendedAgentCard,
    ];

    /// <summary>Methods that name an existing task: only its owner may call them.</summary>
    public static bool NamesTask(string method) => method is GetTask or CancelTask or SubscribeToTask
        or CreatePushConfig or GetPushConfig or ListPushConfigs or DeletePushConfig;

    public static bool IsStreaming(string method) => method is SendStreamingMessage or SubscribeToTask;
}

/// <summary>
/// The request envelope, read once: JSON-RPC version, id (kept as raw JSON so the answer echoes it exactly), method,
/// and the few parameters the hub acts on (task id, push webhook URL). The body itself is forwarded unchanged.
/// </summary>
internal sealed record RpcEnvelope(string IdJson, string Method, string? TaskId, string? PushUrl)
{
    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public static (RpcEnvelope? Envelope, int Code, string? Error, string IdJson) Parse(ReadOnlyMemory<byte> body)
    {
        // JSON text is UTF-8 (RFC 8259 §8.1); the reader checks the grammar but not the bytes inside strings.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            return (null, RpcCodes.ParseError, "The body is not valid UTF-8.", "null");
        }

        try
        {
            return ParseJson(body);
        }
        catch (InvalidOperationException)
        {
            // A string the envelope reads holds an escaped lone surrogate (\ud800): not text.
            return (null, RpcCodes.ParseError, "The body holds a string with an unpaired surrogate escape.", "null");
        }
    }

    private static (RpcEnvelope? Envelope, int Code, string? Error, string IdJson) ParseJson(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            // A repeated property name is refused anywhere in the body: the hub and the agent could each read a
            // different one of the two (a method or webhook URL other than the one the policy and SSRF checks saw).
            document = JsonDocument.Parse(body, Strict);
        }
        catch (JsonException)
        {
            return (null, RpcCodes.ParseError, RepeatsAName(body)
                ? "The body repeats a property name within one object; each name may appear once."
                : "The body is not valid JSON.", "null");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, RpcCodes.InvalidRequest, "A JSON-RPC request is a JSON object (batches are not supported).", "null");
            }

            var idJson = root.TryGetProperty("id", out var id) && id.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.Null
                ? id.GetRawText()
                : "null";
            if (!root.TryGetProperty("jsonrpc", out var version) || version.ValueKind != JsonValueKind.String || version.GetString() != "2.0")
            {
                return (null, RpcCodes.InvalidRequest, "\"jsonrpc\" must be \"2.0\".", idJson);
            }

            if (!root.TryGetProperty("id", out id) || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                return (null, RpcCodes.InvalidRequest, "\"id\" must be a string or a number (notifications are not supported).", idJson);
            }

            if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String)
            {
                return (null, RpcCodes.InvalidRequest, "\"method\" must be a string.", idJson);
            }

            var name = method.GetString()!;
            if (!A2AMethods.All.Contains(name))
            {
                return (null, RpcCodes.MethodNotFound, $"Method '{name}' is not an A2A v1.0 method.", idJson);
            }

            string? taskId = null, pushUrl = null;
            if (root.TryGetProperty("params", out var p))
            {
                if (p.ValueKind != JsonValueKind.Object)
                {
                    return (null, RpcCodes.InvalidParams, "\"params\" must be an object.", idJson);
                }

                taskId = name switch
                {
                    A2AMethods.GetTask or A2AMethods.CancelTask or A2AMethods.SubscribeToTask => String(p, "id"),
                    A2AMethods.SendMessage or A2AMethods.SendStreamingMessage =>
                        p.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? String(m, "taskId") : null,
                    _ => String(p, "taskId") ?? String(p, "id"),
                };
                pushUrl = FindPushUrl(p);
            }

            return (new RpcEnvelope(idJson, name, taskId, pushUrl), 0, null, idJson);
        }
    }

    /// <summary>
    /// The push webhook URL wherever a call can carry one: the push-config methods' <c>url</c> (also nested in
    /// <c>config</c> or <c>pushNotificationConfig</c>), and a message's <c>configuration.taskPushNotificationConfig</c>
    /// (<c>pushNotificationConfig</c> in A2A 0.3), which makes the agent create the config as it takes the message.
    /// </summary>
    private static string? FindPushUrl(JsonElement p) =>
        String(p, "url") ?? NestedUrl(p, "config") ?? NestedUrl(p, "pushNotificationConfig") ??
        (Object(p, "configuration") is { } configuration
            ? NestedUrl(configuration, "taskPushNotificationConfig") ?? NestedUrl(configuration, "pushNotificationConfig") ??
              (Object(configuration, "taskPushNotificationConfig") is { } task ? NestedUrl(task, "pushNotificationConfig") : null)
            : null);

    private static string? NestedUrl(JsonElement element, string name) => Object(element, name) is { } nested ? String(nested, "url") : null;

    private static JsonElement? Object(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>Whether a body the strict parse refused is valid JSON once names may repeat (error path only).</summary>
    private static bool RepeatsAName(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var lenient = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
