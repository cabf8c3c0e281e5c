using System.Text.Json;
using AgentHub.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace AgentHub.Web;

/// <summary>
/// The last word on errors. A caller's mistake (bad JSON, unknown property, body too large) is a 4xx that says what is
/// wrong; a full disk is a 507 that says so (nothing was changed; the hub writes again once space is freed); anything
/// else is a 500 that says nothing internal, only a trace id to find the log entry.
/// </summary>
internal sealed partial class HubExceptionHandler(ILogger<HubExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => (400, "Invalid JSON body", Describe(json)),
            BadHttpRequestException { StatusCode: 413 } => (413, "Request body too large", "The request body exceeds the configured limit."),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", Describe(bad)),
            JsonException json => (400, "Invalid JSON body", Describe(json)),
            _ when StorageFull.Is(exception) => (507, StorageFull.Title, StorageFull.Detail),
            InvalidOperationException text when IsInvalidText(text) =>
                (400, "Invalid JSON body", "The body holds text that is not valid UTF-8, or a string with an unpaired surrogate escape."),
            Audit.AuditUnavailableException => (503, "Audit unavailable", "The audit log could not record this request, so it was not carried out. Retry later."),
            System.Data.Common.DbException => (503, "Storage unavailable", "The hub could not read or write its database. Retry later."),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", ""),
            _ => (500, "Internal error", "The hub could not complete the request. The trace id identifies it in the hub's log."),
        };

        if (status is 503 or 507)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        if (status == 507)
        {
            StorageFull.Log(logger, exception);
        }
        else if (status >= 500)
        {
            LogUnhandled(exception, context.TraceIdentifier);
        }

        context.Response.StatusCode = status;
        await Problems.WriteAsync(context, new ProblemDetails { Status = status, Title = title, Detail = detail }, exception);
        return true;
    }

    // System.Text.Json checks a string's bytes only when it is read (a JsonElement of the body kept as is, read later).
    private static bool IsInvalidText(InvalidOperationException e) =>
        (e.InnerException is System.Text.DecoderFallbackException || e.Message.Contains("UTF-16", StringComparison.Ordinal)) &&
        e.StackTrace?.Contains("at System.Text.Json.", StringComparison.Ordinal) == true;

    // The framework's binding messages are written for developers ("Did you mean to use a Service instead?").
    private static string Describe(BadHttpRequestException bad) =>
        bad.Message.Contains("no body was provided", StringComparison.Ordinal) ? "The request has no body; this endpoint takes a JSON body."
        : bad.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) && bad.Message.Split('"') is { Length: >= 5 } parts
            ? $"The value \"{parts[3]}\" is not valid for '{parts[1].Split(' ')[^1]}'."
            : bad.Message;

    // System.Text.Json messages name internal .NET types; keep only the JSON path and the kind of problem.
    private static string Describe(JsonException json)
    {
        var path = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
        var message = json.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"Unknown property at '{path}'.";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"The value at '{path}' has the wrong type or format.";
        }

        if (message.Contains("uplicate", StringComparison.Ordinal))
        {
            return $"A property name appears twice (at '{path}'); each name may appear once in an object.";
        }

        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            return "The body lacks required properties.";
        }

        return $"The body is not valid JSON (at '{path}', line {json.LineNumber + 1}).";
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Error, Message = "Unhandled error in request {TraceId}")]
    private partial void LogUnhandled(Exception exception, string traceId);
}
