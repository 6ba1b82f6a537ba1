#include <weft/http/client.hpp>

#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/http/errors.hpp>
#include <weft/http/status.hpp>
#include <weft/http/url.hpp>
#include <weft/sleep.hpp>

#include "connection_pool.hpp"

namespace weft::http {
namespace {

bool is_followed_redirect(int status) noexcept {
    return status == status::moved_permanently || status == status::found || status == status::see_other ||
           status == status::temporary_redirect || status == status::permanent_redirect;
}

// A redirect's body is read (to keep the connection) only when it is known to be small.
constexpr std::size_t kDrainLimit = 64 * 1024;

}  // namespace

Client::Client(ClientOptions options) {
    if (options.cert_file.empty() != options.key_file.empty())
        throw UsageError("weft::http::ClientOptions: a client certificate needs both cert_file and key_file");
    pool_ = std::make_shared<detail::ConnectionPool>(std::move(options));
}

Client::~Client() = default;

void Client::close_idle() noexcept { pool_->close_idle(); }

std::size_t Client::idle_count() const noexcept { return pool_->idle_count(); }

Task<ClientResponse> Client::request(Method method, std::string url) {
    return request(method, std::move(url), RequestOptions{});
}

Task<ClientResponse> Client::get(std::string url) { return request(Method::get, std::move(url), RequestOptions{}); }

Task<ClientResponse> Client::head(std::string url) { return request(Method::head, std::move(url), RequestOptions{}); }

Task<ClientResponse> Client::post(std::string url, std::string body) {
    RequestOptions options;
    options.body = std::move(body);
    return request(Method::post, std::move(url), std::move(options));
}

Task<ClientResponse> Client::get(std::string url, RequestOptions options) {
    return request(Method::get, std::move(url), std::move(options));
}

Task<ClientResponse> Client::head(std::string url, RequestOptions options) {
    return request(Method::head, std::move(url), std::move(options));
}

Task<ClientResponse> Client::post(std::string url, std::string body, RequestOptions options) {
    options.body = std::move(body);
    return request(Method::post, std::move(url), std::move(options));
}

Task<ClientResponse> Client::request(Method method, std::string url_text, RequestOptions options) {
    if (method == Method::other || method == Method::connect) {
        throw UsageError("http::Client::request: CONNECT and unnamed methods are not supported");
    }
    Url url = Url::parse(url_text);  // UsageError before anything is sent
    std::shared_ptr<detail::ConnectionPool> pool = pool_;
    const ClientOptions& client_options = pool->options();
    detail::Deadlines deadlines{.read = client_options.read_timeout};
    if (client_options.total_timeout.count() > 0)
        deadlines.total = weft::detail::deadline_after(weft::now(), client_options.total_timeout);
    const unsigned max_redirects = options.max_redirects.value_or(client_options.max_redirects);

    for (unsigned redirects = 0;; ++redirects) {
        ClientResponse response = co_await pool->send(method, url, url.str(), options.headers, options.body, deadlines);
        if (max_redirects == 0 || !is_followed_redirect(response.status())) co_return response;
        std::optional<std::string_view> location = response.headers().get("location");
        if (!location) co_return response;
        if (redirects == max_redirects) {
            throw TooManyRedirects(response.url(), "more than " + std::to_string(max_redirects) + " redirects");
        }
        Url next;
        try {
            next = url.resolve(*location);
        } catch (const UsageError& e) {
            throw InvalidResponse(response.url(), std::string("unusable Location: ") + e.what());
        }
        // Keep the connection if the redirect's body is small and framed; else drop it.
        std::optional<std::string_view> length = response.headers().get("content-length");
        if (length && length->size() < 6 && std::stoul(std::string(*length)) <= kDrainLimit) {
            co_await response.text(kDrainLimit);
        }
        response.close();
        const int code = response.status();
        if (code == status::see_other ||
            ((code == status::moved_permanently || code == status::found) && method == Method::post)) {
            if (method != Method::head) method = Method::get;
            options.body.clear();
            options.headers.remove("content-type");
        }
        if (next.origin() != url.origin()) {
            options.headers.remove("authorization");  // credentials stay with their origin
            options.headers.remove("cookie");
            options.headers.remove("host");
        }
        url = std::move(next);
    }
}

}  // namespace weft::http
