using System.Net;
using Microsoft.Extensions.Options;

namespace AgentHub.Agents;

/// <summary>
/// Fetches an agent's card from its URL: one GET, no redirects, short timeouts, a size cap, JSON only, and only to
/// addresses <see cref="UrlGuard"/> allows (checked at connect time). Failures come back as a message for the caller.
/// </summary>
internal sealed partial class CardFetcher(IHttpClientFactory clients, IOptionsMonitor<AgentsOptions> options, ILogger<CardFetcher> logger)
{
    public const string ClientName = "agenthub-agent-cards";
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(10);

    public async Task<(byte[]? Card, string? Error)> FetchAsync(Uri url, CancellationToken ct)
    {
        var max = options.CurrentValue.MaxCardBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TotalTimeout);
        var client = clients.CreateClient(ClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                return (null, $"The card URL answered with a redirect ({status}{(response.Headers.Location is { } to ? " to " + to : "")}); " +
                    "the hub does not follow redirects: register the final URL.");
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (null, $"The card URL answered {status} {response.ReasonPhrase}, not 200.");
            }

            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (mediaType is null || !(mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
                                       mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            {
                return (null, $"The card URL answered with content type '{mediaType ?? "none"}'; an Agent Card is application/json.");
            }

            if (response.Content.Headers.ContentLength > max)
            {
                return (null, $"The card is larger than {max} bytes (Agents:MaxCardBytes).");
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    return (null, $"The card is larger than {max} bytes (Agents:MaxCardBytes).");
                }

                buffer.Write(chunk, 0, read);
            }

            return (buffer.ToArray(), null);
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            LogRefused(url.Host, "address not allowed");
            return (null, refused.Message);
        }
        catch (HttpRequestException e)
        {
            LogRefused(url.Host, "request failed");
            return (null, $"The card could not be fetched: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            LogRefused(url.Host, "timeout");
            return (null, $"The card URL did not answer within {TotalTimeout.TotalSeconds:0} seconds.");
        }
    }

    private static UrlRefusedException? Refusal(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is UrlRefusedException refused)
            {
                return refused;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Agent Card fetch from host {Host} failed: {Reason}")]
    private partial void LogRefused(string host, string reason);
}
