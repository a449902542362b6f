#include "tp/transport/factory.hpp"

#include <stdexcept>
#include <string>

namespace tp::transport {

std::unique_ptr<Transport> make_transport(const TransportConfig& config, PeerId self,
                                          runtime::Runtime& runtime, MemoryNetwork* network,
                                          AddressBook book) {
    switch (config.kind) {
        case TransportKind::memory:
            if (network == nullptr)
                throw std::invalid_argument("transport = \"memory\" needs a MemoryNetwork");
            if (&network->runtime() != &runtime)
                throw std::invalid_argument("transport: the MemoryNetwork runs on another runtime");
            return network->attach(self);
        case TransportKind::udp:
            if (runtime.is_virtual())
                throw std::invalid_argument(
                    "transport = \"udp\" needs a real-time runtime, not virtual time");
            return std::make_unique<UdpTransport>(runtime.get_executor(), self, config.udp,
                                                  std::move(book));
        case TransportKind::tcp:
            if (runtime.is_virtual())
                throw std::invalid_argument(
                    "transport = \"tcp\" needs a real-time runtime, not virtual time");
            return std::make_unique<TcpTransport>(runtime.get_executor(), self, config.tcp,
                                                  std::move(book));
    }
    throw std::invalid_argument("transport: bad kind");
}

}  // namespace tp::transport
