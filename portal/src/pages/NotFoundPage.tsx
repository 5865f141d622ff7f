import { Empty } from "../components/States";
import { useDocumentTitle } from "../components/PageHeader";
import { Link } from "../router/router";

export function NotFoundPage() {
  useDocumentTitle("Page not found");
  return (
    <section>
      <h1 className="sr-only">Page not found</h1>
      <Empty title="Page not found">
        <Link to="/">Go to the overview</Link>
      </Empty>
    </section>
  );
}
