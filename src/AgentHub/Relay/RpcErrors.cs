using System.Text;
using System.Text.Json;
using AgentHub.Audit;
using AgentHub.Identity;
using AgentHub.Storage;
using AgentHub.Web;

namespace AgentHub.Relay;

/// <summary>Writes JSON-RPC error answers (A2A: errors travel with HTTP 200 unless the HTTP layer itself refused).</summary>
internal static class RpcErrors
{
    public const string StorageFullReason = "STORAGE_FULL";

    /// <summary>
    /// The answer when a record or a write the call needs could not be made: 507 when the storage is full, 503
    /// otherwise; either way nothing was forwarded (or, for a write after the answer began, the stream ends in an error).
    /// </summary>
    public static Task WriteUnavailableAsync(HttpContext context, string idJson, Exception e, string message, string reason)
    {
        if (StorageFull.Is(e))
        {
            StorageFull.Log(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("AgentHub.Relay"), e);
            return context.Response.HasStarted
                ? context.Response.Body.WriteAsync(Event(idJson, RpcCodes.Internal, StorageFull.Detail)).AsTask()
                : WriteAsync(context, 507, idJson, RpcCodes.Internal, StorageFull.Detail, StorageFullReason);
        }

        return context.Response.HasStarted
            ? context.Response.Body.WriteAsync(Event(idJson, RpcCodes.Internal, message)).AsTask()
            : WriteAsync(context, 503, idJson, RpcCodes.Internal, message, reason);
    }

    public static async Task WriteAsync(HttpContext context, int httpStatus, string idJson, int code, string message, string? reason = null, object? extra = null)
    {
        try
        {
            // An answer that wrote no record of its own still needs the caller's authentication on record first.
            await DeferredAuthAudit.FlushAsync(context, context.RequestServices.GetRequiredService<AuditLog>());
        }
        catch (AuditUnavailableException e)
        {
            (httpStatus, code, message, reason, extra) = StorageFull.Is(e)
                ? (507, RpcCodes.Internal, StorageFull.Detail, StorageFullReason, null)
                : (503, RpcCodes.Internal, "The audit log could not record this request, so it was not carried out. Retry later.", "AUDIT_UNAVAILABLE", (object?)null);
        }

        if (httpStatus is 503 or 507)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        context.Response.StatusCode = httpStatus;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writer.WritePropertyName("id");
            writer.WriteRawValue(idJson);
            writer.WriteStartObject("error");
            writer.WriteNumber("code", code);
            writer.WriteString("message", CredentialRedaction.Redact(message));
            if (reason is not null)
            {
                // A2A: error.data is a list of typed details; ErrorInfo carries a machine-readable reason.
                writer.WriteStartArray("data");
                writer.WriteStartObject();
                writer.WriteString("@type", "type.googleapis.com/google.rpc.ErrorInfo");
                writer.WriteString("reason", reason);
                writer.WriteString("domain", "agenthub");
                if (extra is string[] versions)
                {
                    writer.WriteStartObject("metadata");
                    writer.WriteString("supportedVersions", string.Join(',', versions));
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.ToArray());
    }

    public static byte[] Event(string idJson, int code, string message) =>
        Encoding.UTF8.GetBytes($"data: {{\"jsonrpc\":\"2.0\",\"id\":{idJson},\"error\":{{\"code\":{code},\"message\":{JsonSerializer.Serialize(message, HubJsonContext.Default.String)}}}}}\n\n");
}
