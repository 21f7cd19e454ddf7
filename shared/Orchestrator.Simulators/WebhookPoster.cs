using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Simulators;

/// <summary>
/// Signing and posting of simulated webhook deliveries, shared by the GitHub, Gitea, Plane and Asana simulators:
/// each builds its own body and platform headers, signs with these helpers, and sends the exact bytes here.
/// </summary>
internal static class WebhookPoster
{
    /// <summary>
    /// The GitHub-style signature pair over the raw body: <c>X-Hub-Signature</c> = <c>sha1=&lt;hex HMAC-SHA1&gt;</c> (legacy,
    /// still sent by GitHub and Gitea; receivers must ignore it) and <c>X-Hub-Signature-256</c> = <c>sha256=&lt;hex HMAC-SHA256&gt;</c>
    /// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
    /// </summary>
    /// <param name="secret">Webhook secret, the HMAC key as UTF-8.</param>
    /// <param name="body">The bytes that are sent.</param>
    /// <returns>The two header values.</returns>
    public static (string Sha1, string Sha256) HubSignatures(string secret, byte[] body)
    {
#pragma warning disable CA5350 // The legacy SHA-1 signature is part of what GitHub and Gitea send; nothing here relies on it.
        var sha1 = "sha1=" + Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), body));
#pragma warning restore CA5350
        return (sha1, "sha256=" + SimulatorHost.HmacHex(secret, body));
    }

    /// <summary>POSTs <paramref name="body"/> with <paramref name="headers"/> (<c>Content-Type</c> on the content) to <paramref name="target"/>.</summary>
    /// <param name="client">Outbound client.</param>
    /// <param name="target">Receiver URL.</param>
    /// <param name="body">Exact body bytes.</param>
    /// <param name="headers">Headers to send, added without validation.</param>
    /// <param name="completion">When the answer counts as received.</param>
    /// <param name="cancellationToken">Cancels the POST.</param>
    /// <returns>The receiver's status.</returns>
    /// <exception cref="HttpRequestException">The receiver could not be reached.</exception>
    /// <exception cref="TaskCanceledException">The client's timeout passed, or the token was cancelled.</exception>
    public static async Task<HttpStatusCode> PostAsync(
        HttpClient client,
        Uri target,
        byte[] body,
        IReadOnlyDictionary<string, string> headers,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || !request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await client.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        return response.StatusCode;
    }

    /// <summary>
    /// <see cref="PostAsync"/>, but an unreachable receiver or a timeout is an answer, not an exception, as the forges
    /// record a failed delivery and move on.
    /// </summary>
    /// <param name="client">Outbound client.</param>
    /// <param name="target">Receiver URL.</param>
    /// <param name="body">Exact body bytes.</param>
    /// <param name="headers">Headers to send.</param>
    /// <param name="cancellationToken">Cancels the POST (then <see cref="OperationCanceledException"/> is thrown).</param>
    /// <returns>The status, or <c>null</c> and why no answer came (<c>timed out: …</c> for a timeout).</returns>
    public static async Task<(HttpStatusCode? Status, string? Error)> TryPostAsync(
        HttpClient client, Uri target, byte[] body, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        try
        {
            return (await PostAsync(client, target, body, headers, cancellationToken).ConfigureAwait(false), null);
        }
        catch (HttpRequestException e)
        {
            return (null, e.Message);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "timed out: " + e.Message);
        }
    }
}
