using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AgentHub.Agents;

/// <summary>An outbound URL the hub refuses to reach (SSRF protection); the message says why.</summary>
internal sealed class UrlRefusedException(string message) : Exception(message);

/// <summary>
/// Keeps registrations from making the hub reach into its own network. Only http(s) URLs; a host must resolve only to
/// public addresses unless it is allow-listed (<c>Agents:AllowedHosts</c>) or <c>Agents:AllowPrivateNetworks</c> is set.
/// <see cref="ConnectAsync"/> resolves once and connects to the address it checked, so DNS rebinding between a check
/// and the connection cannot slip through.
/// </summary>
internal sealed class UrlGuard(IOptionsMonitor<AgentsOptions> options)
{
    /// <summary>The syntax rule: absolute http(s), no user info. Returns an error message or null.</summary>
    public static string? CheckSyntax(string? text, string field, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text, UriKind.Absolute, out var parsed))
        {
            return $"{field} must be an absolute http or https URL.";
        }

        if (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
        {
            return $"{field} must be an http or https URL, not '{parsed.Scheme}:'.";
        }

        if (!string.IsNullOrEmpty(parsed.UserInfo))
        {
            return $"{field} must not carry user credentials.";
        }

        uri = parsed;
        return null;
    }

    /// <summary>Checks where <paramref name="uri"/> leads without connecting; returns an error message or null.</summary>
    public async Task<string?> CheckAsync(Uri uri, CancellationToken ct)
    {
        try
        {
            await ResolveAsync(uri.IdnHost, ct);
            return null;
        }
        catch (UrlRefusedException e)
        {
            return e.Message;
        }
    }

    /// <summary>The addresses <paramref name="host"/> may be reached at; throws <see cref="UrlRefusedException"/> otherwise.</summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct)
    {
        var bare = host.Trim('[', ']');
        IPAddress[] addresses;
        if (IPAddress.TryParse(bare, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(bare, ct);
            }
            catch (SocketException)
            {
                throw new UrlRefusedException($"The host '{bare}' could not be resolved.");
            }
        }

        if (addresses.Length == 0)
        {
            throw new UrlRefusedException($"The host '{bare}' has no addresses.");
        }

        var o = options.CurrentValue;
        if (o.AllowPrivateNetworks || o.AllowedHosts.Any(h => string.Equals(h.Trim('[', ']'), bare, StringComparison.OrdinalIgnoreCase)))
        {
            return addresses;
        }

        foreach (var address in addresses)
        {
            if (Classify(address) is { } kind)
            {
                throw new UrlRefusedException(
                    $"The host '{bare}' resolves to {address}, a {kind} address; the hub does not reach such addresses " +
                    "unless they are allowed (Agents:AllowedHosts or Agents:AllowPrivateNetworks).");
            }
        }

        return addresses;
    }

    /// <summary>For <see cref="SocketsHttpHandler.ConnectCallback"/>: resolve, check, connect to the checked address.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = await ResolveAsync(context.DnsEndPoint.Host, ct);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Why an address is not public (loopback, private, …), or null when it is.</summary>
    public static string? Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return "loopback";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b switch
            {
                [0, ..] => "unspecified",
                [10, ..] or [172, >= 16 and <= 31, ..] or [192, 168, ..] => "private",
                [100, >= 64 and <= 127, ..] => "shared (carrier-grade NAT)",
                [169, 254, ..] => "link-local",
                [192, 0, 0, ..] => "IETF protocol",
                [>= 224 and <= 239, ..] => "multicast",
                [>= 240, ..] => "reserved",
                _ => null,
            };
        }

        if (address.Equals(IPAddress.IPv6Any))
        {
            return "unspecified";
        }

        if (address.IsIPv6LinkLocal)
        {
            return "link-local";
        }

        if (address.IsIPv6SiteLocal)
        {
            return "site-local";
        }

        if (address.IsIPv6Multicast)
        {
            return "multicast";
        }

        var bytes = address.GetAddressBytes();
        return (bytes[0] & 0xFE) == 0xFC ? "private (unique local)" : null;
    }
}
