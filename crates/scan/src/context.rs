//! What the scanner knows about the rest of the deployment.

/// A tool known to the gateway, with the server that offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownTool {
    /// The server's name as configured.
    pub server: String,
    /// The tool's name as the server lists it.
    pub name: String,
}

/// The other tools and servers a definition is scanned against: mentions of them with
/// directives are shadowing, names a small edit away from them are typosquats.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub(crate) tools: Vec<KnownTool>,
    pub(crate) servers: Vec<String>,
}

impl Context {
    /// An empty context: only rules that need no other names can fire.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a known server.
    pub fn server(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !self.servers.contains(&name) {
            self.servers.push(name);
        }
        self
    }

    /// Adds a known tool and its server.
    pub fn tool(mut self, server: impl Into<String>, name: impl Into<String>) -> Self {
        let server = server.into();
        self = self.server(server.clone());
        self.tools.push(KnownTool {
            server,
            name: name.into(),
        });
        self
    }

    /// The known tools.
    pub fn tools(&self) -> &[KnownTool] {
        &self.tools
    }

    /// The known servers.
    pub fn servers(&self) -> &[String] {
        &self.servers
    }
}
