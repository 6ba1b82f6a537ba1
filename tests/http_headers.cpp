// weft::http's vocabulary: Headers (case-insensitive, ordered, injection-checked), methods
// and reason phrases.
#include <catch2/catch.hpp>

#include <weft/error.hpp>
#include <weft/http/headers.hpp>
#include <weft/http/method.hpp>
#include <weft/http/status.hpp>

using namespace weft::http;

TEST_CASE("http::Headers: lookup ignores case, keeps repeated fields in order, set replaces them all", "[http]") {
    Headers h{{"Content-Type", "text/plain"}};
    h.add("Set-Cookie", "a=1");
    h.add("set-cookie", "b=2");
    CHECK(h.get("CONTENT-TYPE") == "text/plain");
    CHECK(h.get_all("SET-COOKIE") == std::vector<std::string_view>{"a=1", "b=2"});
    CHECK_FALSE(h.get("X-Missing"));
    h.set("SET-COOKIE", "c=3");
    CHECK(h.get_all("set-cookie") == std::vector<std::string_view>{"c=3"});
    CHECK(h.size() == 2);
    CHECK(h.remove("content-type") == 1);
    CHECK(h.size() == 1);
    CHECK(h.begin()->name == "SET-COOKIE");
}

TEST_CASE("http::Headers: a name that is not a token, or a value with CR/LF/NUL, is UsageError", "[http]") {
    Headers h;
    CHECK_THROWS_AS(h.add("Bad Name", "x"), weft::UsageError);
    CHECK_THROWS_AS(h.add("", "x"), weft::UsageError);
    CHECK_THROWS_AS(h.add("X-Injected", "a\r\nSet-Cookie: evil=1"), weft::UsageError);
    CHECK_THROWS_AS(h.set("X-Nul", std::string_view("a\0b", 3)), weft::UsageError);
    CHECK(h.empty());
}

TEST_CASE("http: methods round-trip through their wire names, reason phrases", "[http]") {
    for (auto m : {Method::get, Method::head, Method::post, Method::put, Method::delete_, Method::connect,
                   Method::options, Method::trace, Method::patch}) {
        CHECK(parse_method(to_string(m)) == m);
    }
    CHECK(parse_method("get") == Method::other);  // methods are case-sensitive
    CHECK(parse_method("PURGE") == Method::other);
    CHECK(reason_phrase(404) == "Not Found");
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(reason_phrase(299) == "Unknown");
    CHECK(status::is_redirect(308));
}
