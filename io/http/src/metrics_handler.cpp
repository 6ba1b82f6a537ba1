#include <weft/http/metrics_handler.hpp>

#include <weft/prometheus_text.hpp>
#include <weft/runtime_metrics.hpp>

namespace weft::http {

Handler metrics_handler() {
    return [](Request&) -> Task<Response> {
        Response response(200);
        response.body = metrics::prometheus_text(runtime_metrics());
        response.content_type = metrics::kPrometheusContentType;
        co_return response;
    };
}

}  // namespace weft::http
