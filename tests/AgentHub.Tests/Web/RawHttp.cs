using System.Net.Sockets;
using System.Text;

namespace AgentHub.Tests.Web;

/// <summary>HTTP/1.1 over a bare socket, for what HttpClient hides: idle connections, partial requests, the server closing.</summary>
internal static class RawHttp
{
    public static async Task<Socket> ConnectAsync(Uri url)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(url.Host, url.Port);
        return socket;
    }

    /// <summary>HEAD /healthz on a kept-alive connection; returns the status line once the response head is in.</summary>
    public static async Task<string> HeadKeepAliveAsync(Socket socket, TimeSpan timeout)
    {
        await SendAsync(socket, "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        var head = await ReadAsync(socket, timeout, until: "\r\n\r\n");
        return head.Split("\r\n")[0];
    }

    /// <summary>A request with <c>Connection: close</c>; returns everything the server sent before it closed.</summary>
    public static async Task<string> RequestAsync(Socket socket, string path, TimeSpan timeout)
    {
        await SendAsync(socket, $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        return await ReadAsync(socket, timeout, until: null);
    }

    public static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);

    /// <summary>
    /// Reads until <paramref name="until"/> arrives or the server closes (an empty string when it closed or reset at once).
    /// Throws when neither happens within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string> ReadAsync(Socket socket, TimeSpan timeout, string? until)
    {
        using var cts = new CancellationTokenSource(timeout);
        var received = new StringBuilder();
        var buffer = new byte[16 * 1024];
        while (until is null || !received.ToString().Contains(until, StringComparison.Ordinal))
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no answer and no close within {timeout}; received so far: '{received}'");
            }

            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString();
    }

    /// <summary>Sends a request on a connection the server is expected to refuse; returns what came back (empty: refused).</summary>
    public static async Task<string> TryRequestAsync(Uri url, TimeSpan timeout)
    {
        using var socket = await ConnectAsync(url);
        try
        {
            await SendAsync(socket, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return "";
        }

        return await ReadAsync(socket, timeout, until: null);
    }
}
