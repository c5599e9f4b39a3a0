// Runs once, when the MongoDB container initialises an empty data volume
// (/docker-entrypoint-initdb.d). Creates the `lumbung` user the services connect as:
// read/write on the six service databases (lumbung_<service>) and nothing else.
// The root user (MONGO_INITDB_ROOT_*) is for backups and administration only.
const password = process.env.LUMBUNG_MONGO_PASSWORD;
if (!password || password.length < 16) {
  throw new Error("LUMBUNG_MONGO_PASSWORD must be set (16+ characters) to create the lumbung user");
}
const services = ["registry", "training", "commerce", "agriculture", "livestock", "aggregator"];
db.getSiblingDB("admin").createUser({
  user: "lumbung",
  pwd: password,
  roles: services.map((s) => ({ role: "readWrite", db: `lumbung_${s}` })),
});
print(`created user lumbung with readWrite on ${services.map((s) => `lumbung_${s}`).join(", ")}`);
