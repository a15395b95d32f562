<?xml version="1.0" encoding="UTF-8"?>
<!--
  define.xsl: the cdisc-pipeline's own stylesheet for its Define-XML 2.1 documents.

  define.xml names it in its <?xml-stylesheet?> processing instruction and the pipeline
  writes it beside every define.xml, so a reviewer who opens define.xml in a browser sees
  one page with the sections of the pipeline's define.html: the study and its standards,
  the datasets (table of contents), the documents (annotated CRF, reviewer's guides), each
  dataset's variables, the value-level metadata, the controlled terminology and external
  dictionaries, the methods, the comments, and for an ADaM define with Analysis Results
  Metadata (ARM 1.0) the analysis results. Every part links to what it refers to by OID.

  XSLT 1.0 (what browsers run). Written for this project (Apache-2.0); it reads only
  the elements the pipeline writes, as Define-XML 2.1 and ARM 1.0 define them.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
    xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    xmlns:arm="http://www.cdisc.org/ns/arm/v1.0"
    exclude-result-prefixes="odm def xlink arm">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="comment" match="def:CommentDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>
  <xsl:key name="group" match="odm:ItemGroupDef" use="@OID"/>
  <xsl:key name="valuelistref" match="def:ValueListRef" use="@ValueListOID"/>

  <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>
  <xsl:variable name="layer">
    <xsl:choose>
      <xsl:when test="$mdv/odm:ItemGroupDef[@Purpose='Analysis']">ADaM</xsl:when>
      <xsl:otherwise>SDTM</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <!-- the English text of a Description, Decode or title -->
  <xsl:template name="text">
    <xsl:param name="of"/>
    <xsl:value-of select="$of/odm:TranslatedText[@xml:lang='en' or not(@xml:lang)][1]"/>
  </xsl:template>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <title>
          <xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>
          <xsl:text> </xsl:text><xsl:value-of select="$layer"/><xsl:text> Define-XML</xsl:text>
        </title>
        <style>
body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 1.5em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 2em; border-bottom: 2px solid #456; }
h3 { font-size: 14px; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #e8edf2; }
tr:nth-child(even) td { background: #f7f9fb; }
.key { font-weight: bold; } .muted { color: #777; } .ext { color: #a40; }
nav ul { columns: 2; } code { font-size: 12px; }
        </style>
      </head>
      <body>
        <xsl:apply-templates select="/odm:ODM"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="odm:ODM">
    <xsl:variable name="gv" select="odm:Study/odm:GlobalVariables"/>
    <h1>
      <xsl:value-of select="$gv/odm:StudyName"/>: <xsl:value-of select="$layer"/>
      <xsl:text> data definitions (Define-XML </xsl:text>
      <xsl:value-of select="$mdv/@def:DefineVersion"/>)</h1>
    <p><xsl:value-of select="$gv/odm:StudyDescription"/></p>
    <table>
      <tr><th>Study</th><td><xsl:value-of select="$gv/odm:StudyName"/></td></tr>
      <tr><th>Metadata version</th><td><xsl:value-of select="$mdv/@Name"/>
        (<code><xsl:value-of select="$mdv/@OID"/></code>)</td></tr>
      <tr><th>Created</th><td><xsl:value-of select="@CreationDateTime"/></td></tr>
      <tr><th>Standards</th><td>
        <xsl:for-each select="$mdv/def:Standards/def:Standard">
          <xsl:value-of select="@Name"/><xsl:text> </xsl:text><xsl:value-of select="@Version"/>
          <xsl:if test="@PublishingSet"> (<xsl:value-of select="@PublishingSet"/>)</xsl:if>
          <xsl:if test="position() != last()">; </xsl:if>
        </xsl:for-each>
      </td></tr>
    </table>

    <nav>
      <h2 id="toc">Datasets</h2>
      <table>
        <tr><th>Dataset</th><th>Label</th><th>Class</th><th>Structure</th><th>Purpose</th>
          <th>Keys</th><th>File</th></tr>
        <xsl:for-each select="$mdv/odm:ItemGroupDef">
          <tr>
            <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
            <td><xsl:call-template name="text"><xsl:with-param name="of" select="odm:Description"/></xsl:call-template></td>
            <td><xsl:value-of select="def:Class/@Name"/>
              <xsl:if test="def:Class/def:SubClass"> / <xsl:value-of select="def:Class/def:SubClass/@Name"/></xsl:if></td>
            <td><xsl:value-of select="@def:Structure"/></td>
            <td><xsl:value-of select="@Purpose"/></td>
            <td><xsl:call-template name="keys"/></td>
            <td><a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/@xlink:href"/></a></td>
          </tr>
        </xsl:for-each>
      </table>
      <ul>
        <li><a href="#documents">Documents</a></li>
        <xsl:if test="$mdv/arm:AnalysisResultDisplays">
          <li><a href="#analysis-results">Analysis results</a></li>
        </xsl:if>
        <li><a href="#value-level">Value-level metadata</a></li>
        <li><a href="#codelists">Controlled terminology and dictionaries</a></li>
        <li><a href="#methods">Methods</a></li>
        <li><a href="#comments">Comments</a></li>
      </ul>
    </nav>

    <h2 id="documents">Documents</h2>
    <xsl:choose>
      <xsl:when test="$mdv/def:AnnotatedCRF | $mdv/def:SupplementalDoc">
        <table>
          <tr><th>Document</th><th>Title</th><th>File</th></tr>
          <xsl:for-each select="$mdv/def:AnnotatedCRF/def:DocumentRef | $mdv/def:SupplementalDoc/def:DocumentRef">
            <xsl:variable name="leaf" select="key('leaf', @leafID)"/>
            <tr id="{@leafID}">
              <td><xsl:choose>
                <xsl:when test="parent::def:AnnotatedCRF">Annotated CRF</xsl:when>
                <xsl:otherwise>Supplemental document</xsl:otherwise>
              </xsl:choose></td>
              <td><xsl:value-of select="$leaf/def:title"/></td>
              <td><a href="{$leaf/@xlink:href}"><xsl:value-of select="$leaf/@xlink:href"/></a></td>
            </tr>
          </xsl:for-each>
        </table>
      </xsl:when>
      <xsl:otherwise><p class="muted">None.</p></xsl:otherwise>
    </xsl:choose>

    <xsl:apply-templates select="$mdv/odm:ItemGroupDef"/>
    <xsl:apply-templates select="$mdv/arm:AnalysisResultDisplays"/>

    <h2 id="value-level">Value-level metadata</h2>
    <xsl:apply-templates select="$mdv/def:ValueListDef"/>
    <xsl:if test="not($mdv/def:ValueListDef)"><p class="muted">None.</p></xsl:if>

    <h2 id="codelists">Controlled terminology and dictionaries</h2>
    <xsl:apply-templates select="$mdv/odm:CodeList"/>

    <h2 id="methods">Methods</h2>
    <table>
      <tr><th>Method</th><th>Type</th><th>Description</th></tr>
      <xsl:for-each select="$mdv/odm:MethodDef">
        <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
          <td><xsl:call-template name="text"><xsl:with-param name="of" select="odm:Description"/></xsl:call-template></td></tr>
      </xsl:for-each>
    </table>

    <h2 id="comments">Comments</h2>
    <table>
      <tr><th>Comment</th><th>Text</th></tr>
      <xsl:for-each select="$mdv/def:CommentDef">
        <tr id="{@OID}"><td><code><xsl:value-of select="@OID"/></code></td>
          <td><xsl:call-template name="text"><xsl:with-param name="of" select="odm:Description"/></xsl:call-template>
            <xsl:for-each select="def:DocumentRef">
              <xsl:text> (</xsl:text><a href="#{@leafID}"><xsl:value-of select="key('leaf', @leafID)/def:title"/></a>)</xsl:for-each>
          </td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <!-- the key variables of the current ItemGroupDef, by KeySequence -->
  <xsl:template name="keys">
    <xsl:for-each select="odm:ItemRef[@KeySequence]">
      <xsl:sort select="@KeySequence" data-type="number"/>
      <xsl:value-of select="key('item', @ItemOID)/@Name"/>
      <xsl:if test="position() != last()">, </xsl:if>
    </xsl:for-each>
  </xsl:template>

  <!-- one dataset: its variables -->
  <xsl:template match="odm:ItemGroupDef">
    <h2 id="{@OID}"><xsl:value-of select="@Name"/>: <xsl:call-template name="text">
      <xsl:with-param name="of" select="odm:Description"/></xsl:call-template></h2>
    <p><xsl:value-of select="@def:Structure"/>. In <a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/@xlink:href"/></a>.
      <xsl:if test="@def:CommentOID"><xsl:text> </xsl:text><a href="#{@def:CommentOID}">Comment</a>.</xsl:if>
      <xsl:text> </xsl:text><a href="#toc">Back to datasets</a></p>
    <table>
      <tr><th>#</th><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Format</th>
        <th>Controlled terms</th><th>Origin</th><th>Method / comment</th>
        <th>Mandatory</th><th>Key</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="i" select="key('item', @ItemOID)"/>
        <tr id="{$i/@OID}">
          <td><xsl:value-of select="@OrderNumber"/></td>
          <td>
            <xsl:if test="@KeySequence"><xsl:attribute name="class">key</xsl:attribute></xsl:if>
            <xsl:value-of select="$i/@Name"/></td>
          <td><xsl:call-template name="text"><xsl:with-param name="of" select="$i/odm:Description"/></xsl:call-template></td>
          <td><xsl:value-of select="$i/@DataType"/></td>
          <td><xsl:value-of select="$i/@Length"/></td>
          <td><xsl:value-of select="$i/@def:DisplayFormat"/></td>
          <td>
            <xsl:call-template name="codelist-link"><xsl:with-param name="i" select="$i"/></xsl:call-template>
            <xsl:if test="$i/def:ValueListRef"><xsl:text> </xsl:text><a href="#{$i/def:ValueListRef/@ValueListOID}">value-level metadata</a></xsl:if>
          </td>
          <td><xsl:call-template name="origin"><xsl:with-param name="i" select="$i"/></xsl:call-template></td>
          <td>
            <xsl:call-template name="method-comment"><xsl:with-param name="i" select="$i"/></xsl:call-template>
            <xsl:if test="@def:HasNoData='Yes'"><xsl:text> </xsl:text><span class="muted">(no data)</span></xsl:if>
          </td>
          <td><xsl:call-template name="yes-no"/></td>
          <td><xsl:value-of select="@KeySequence"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template name="yes-no">
    <xsl:choose><xsl:when test="@Mandatory='Yes'">Yes</xsl:when><xsl:otherwise>No</xsl:otherwise></xsl:choose>
  </xsl:template>

  <xsl:template name="codelist-link">
    <xsl:param name="i"/>
    <xsl:if test="$i/odm:CodeListRef">
      <a href="#{$i/odm:CodeListRef/@CodeListOID}"><xsl:value-of select="key('codelist', $i/odm:CodeListRef/@CodeListOID)/@Name"/></a>
      <br/>
    </xsl:if>
  </xsl:template>

  <!-- "Collected (Investigator): text", as define.html writes an origin -->
  <xsl:template name="origin">
    <xsl:param name="i"/>
    <xsl:variable name="o" select="$i/def:Origin"/>
    <xsl:value-of select="$o/@Type"/>
    <xsl:if test="$o/@Source"> (<xsl:value-of select="$o/@Source"/>)</xsl:if>
    <xsl:if test="$o/odm:Description">: <xsl:call-template name="text">
      <xsl:with-param name="of" select="$o/odm:Description"/></xsl:call-template></xsl:if>
    <xsl:for-each select="$o/def:DocumentRef">
      <xsl:text> </xsl:text><a href="{key('leaf', @leafID)/@xlink:href}#page={substring-before(concat(def:PDFPageRef/@PageRefs, ' '), ' ')}">
        <xsl:value-of select="key('leaf', @leafID)/def:title"/>
        <xsl:if test="def:PDFPageRef"> p. <xsl:value-of select="def:PDFPageRef/@PageRefs"/></xsl:if>
      </a>
    </xsl:for-each>
  </xsl:template>

  <!-- the method (of the ItemRef in context) and the comment (of the ItemDef $i) -->
  <xsl:template name="method-comment">
    <xsl:param name="i"/>
    <xsl:if test="@MethodOID">
      <a href="#{@MethodOID}"><xsl:call-template name="text">
        <xsl:with-param name="of" select="key('method', @MethodOID)/odm:Description"/></xsl:call-template></a>
      <br/><xsl:text> </xsl:text>
    </xsl:if>
    <xsl:if test="$i/@def:CommentOID">
      <a href="#{$i/@def:CommentOID}"><xsl:call-template name="text">
        <xsl:with-param name="of" select="key('comment', $i/@def:CommentOID)/odm:Description"/></xsl:call-template></a>
    </xsl:if>
  </xsl:template>

  <!-- "LBTESTCD EQ NEUT" (several range checks: joined by "and") -->
  <xsl:template name="where-text">
    <xsl:param name="clause"/>
    <xsl:for-each select="$clause/odm:RangeCheck">
      <xsl:value-of select="key('item', @def:ItemOID)/@Name"/>
      <xsl:text> </xsl:text><xsl:value-of select="@Comparator"/><xsl:text> </xsl:text>
      <xsl:for-each select="odm:CheckValue">
        <xsl:value-of select="."/><xsl:if test="position() != last()">, </xsl:if>
      </xsl:for-each>
      <xsl:if test="position() != last()"> and </xsl:if>
    </xsl:for-each>
  </xsl:template>

  <!-- value-level metadata of one variable -->
  <xsl:template match="def:ValueListDef">
    <xsl:variable name="parent" select="key('valuelistref', @OID)[1]/.."/>
    <xsl:variable name="group" select="$mdv/odm:ItemGroupDef[odm:ItemRef/@ItemOID = $parent/@OID][1]"/>
    <h3 id="{@OID}"><xsl:value-of select="$group/@Name"/>.<xsl:value-of select="$parent/@Name"/></h3>
    <table>
      <tr><th>Where</th><th>Label</th><th>Type</th><th>Length</th><th>Significant digits</th>
        <th>Controlled terms</th><th>Origin</th><th>Method / comment</th><th>Mandatory</th></tr>
      <xsl:for-each select="odm:ItemRef">
        <xsl:sort select="@OrderNumber" data-type="number"/>
        <xsl:variable name="i" select="key('item', @ItemOID)"/>
        <tr id="{$i/@OID}">
          <td><xsl:call-template name="where-text">
            <xsl:with-param name="clause" select="key('where', def:WhereClauseRef/@WhereClauseOID)"/></xsl:call-template></td>
          <td><xsl:call-template name="text"><xsl:with-param name="of" select="$i/odm:Description"/></xsl:call-template></td>
          <td><xsl:value-of select="$i/@DataType"/></td>
          <td><xsl:value-of select="$i/@Length"/></td>
          <td><xsl:value-of select="$i/@SignificantDigits"/></td>
          <td><xsl:call-template name="codelist-link"><xsl:with-param name="i" select="$i"/></xsl:call-template></td>
          <td><xsl:call-template name="origin"><xsl:with-param name="i" select="$i"/></xsl:call-template></td>
          <td><xsl:call-template name="method-comment"><xsl:with-param name="i" select="$i"/></xsl:call-template></td>
          <td><xsl:call-template name="yes-no"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <!-- one codelist or external dictionary -->
  <xsl:template match="odm:CodeList">
    <xsl:variable name="code" select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/>
    <h3 id="{@OID}"><xsl:value-of select="@Name"/>
      <xsl:if test="$code"> (<xsl:value-of select="$code"/>)</xsl:if></h3>
    <xsl:if test="odm:Description"><p><xsl:call-template name="text">
      <xsl:with-param name="of" select="odm:Description"/></xsl:call-template></p></xsl:if>
    <xsl:choose>
      <xsl:when test="odm:ExternalCodeList">
        <xsl:variable name="x" select="odm:ExternalCodeList"/>
        <p>External dictionary: <xsl:value-of select="$x/@Dictionary"/>,
          <xsl:choose>
            <xsl:when test="$x/@Version">version <xsl:value-of select="$x/@Version"/></xsl:when>
            <xsl:otherwise><span class="ext">version not given</span></xsl:otherwise>
          </xsl:choose>
          <xsl:if test="$x/@href"> (<a href="{$x/@href}"><xsl:value-of select="$x/@href"/></a>)</xsl:if>.</p>
      </xsl:when>
      <xsl:otherwise>
        <p class="muted"><xsl:value-of select="@DataType"/>; terms used by the data or the specs only.</p>
        <table>
          <tr><th>Value</th><xsl:if test="odm:CodeListItem"><th>Decode</th></xsl:if><th>NCI code</th><th></th></tr>
          <xsl:for-each select="odm:CodeListItem | odm:EnumeratedItem">
            <xsl:sort select="@OrderNumber" data-type="number"/>
            <tr><td><xsl:value-of select="@CodedValue"/></td>
              <xsl:if test="self::odm:CodeListItem"><td><xsl:call-template name="text">
                <xsl:with-param name="of" select="odm:Decode"/></xsl:call-template></td></xsl:if>
              <td><xsl:value-of select="odm:Alias[@Context='nci:ExtCodeID']/@Name"/></td>
              <td><xsl:if test="@def:ExtendedValue='Yes'"><span class="ext">sponsor extension</span></xsl:if></td></tr>
          </xsl:for-each>
        </table>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Analysis Results Metadata (ARM 1.0) -->
  <xsl:template match="arm:AnalysisResultDisplays">
    <h2 id="analysis-results">Analysis results</h2>
    <xsl:for-each select="arm:ResultDisplay">
      <h3 id="{@OID}"><xsl:value-of select="@Name"/>: <xsl:call-template name="text">
        <xsl:with-param name="of" select="odm:Description"/></xsl:call-template></h3>
      <xsl:for-each select="arm:AnalysisResult">
        <table id="{@OID}">
          <tr><th>Analysis result</th><td><xsl:call-template name="text">
            <xsl:with-param name="of" select="odm:Description"/></xsl:call-template></td></tr>
          <tr><th>Analysis parameter</th><td><xsl:value-of select="key('item', @ParameterOID)/@Name"/></td></tr>
          <tr><th>Reason</th><td><xsl:value-of select="@AnalysisReason"/></td></tr>
          <tr><th>Purpose</th><td><xsl:value-of select="@AnalysisPurpose"/></td></tr>
          <tr><th>Datasets</th><td>
            <xsl:for-each select="arm:AnalysisDatasets/arm:AnalysisDataset">
              <a href="#{@ItemGroupOID}"><xsl:value-of select="key('group', @ItemGroupOID)/@Name"/></a>
              <xsl:if test="def:WhereClauseRef"> where <xsl:call-template name="where-text">
                <xsl:with-param name="clause" select="key('where', def:WhereClauseRef/@WhereClauseOID)"/></xsl:call-template></xsl:if>
              <xsl:text>: </xsl:text>
              <xsl:for-each select="arm:AnalysisVariable">
                <xsl:value-of select="key('item', @ItemOID)/@Name"/><xsl:if test="position() != last()">, </xsl:if>
              </xsl:for-each>
              <br/>
            </xsl:for-each>
          </td></tr>
          <tr><th>Documentation</th><td><xsl:call-template name="text">
            <xsl:with-param name="of" select="arm:Documentation/odm:Description"/></xsl:call-template></td></tr>
          <tr><th>Programming code</th><td>
            <xsl:if test="arm:ProgrammingCode/@Context"><xsl:value-of select="arm:ProgrammingCode/@Context"/>: </xsl:if>
            <code><xsl:value-of select="arm:ProgrammingCode/arm:Code"/></code></td></tr>
        </table>
      </xsl:for-each>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
